"""tools/analysis/compare_activations.py on a reduced setting: ReLU vs
channel-wise PReLU, 2 seeds, 1 epoch of 32 images; the slopes hook's
scalars reach the visualizer backend and the checkpoints feed
prelu_slopes.py."""
import json
import math
from pathlib import Path

import compare_activations  # tools/analysis, on sys.path (conftest.py)
import pytest

import prelu_slopes

EXPERIMENTS = Path(__file__).resolve().parents[2] / 'configs' / 'experiments'


@pytest.fixture(scope='module')
def compared(tmp_path_factory, digits_root):
    tmp = tmp_path_factory.mktemp('compare')
    configs = [
        EXPERIMENTS / 'prelu14_relu_digits.py',
        EXPERIMENTS / 'prelu14_wise_digits.py'
    ]
    results, summary, md, png = compare_activations.run(
        configs, ['ReLU', 'wise'],
        seeds=(0, 1),
        epochs=1,
        work_dir=tmp / 'work',
        out_dir=tmp / 'out',
        data_root=digits_root,
        train_indices=32,
        val_indices=16)
    return results, summary, md, png, tmp


def test_table_over_seeds(compared):
    results, summary, md, png, tmp = compared
    assert [len(v) for v in results.values()] == [2, 2]
    for label in ('ReLU', 'wise'):
        mean, std = summary[label]['top1']
        assert 0 <= mean <= 100 and std >= 0
        assert math.isfinite(summary[label]['loss'][0])
    # same seed, same config -> same data and init; other seeds differ
    wise = results['wise']
    assert wise[0]['log']['loss'][0] != wise[1]['log']['loss'][0]
    assert '| wise | 2 |' in md and '±' in md
    data = json.loads((tmp / 'out' / 'compare_activations.json').read_text())
    assert data['seeds'] == [0, 1]
    assert png.stat().st_size > 0


def test_slope_hook_reaches_the_visualizer(compared):
    results = compared[0]
    work_dir = Path(results['wise'][0]['work_dir'])
    scalars = list(work_dir.rglob('vis_data/scalars.json'))
    assert scalars, f'no vis_data/scalars.json under {work_dir}'
    lines = [json.loads(x) for x in scalars[0].read_text().splitlines()]
    logged = [x for x in lines if 'prelu/backbone.stages.0.conv1.act' in x]
    assert logged and 'prelu/head.layers.1.act' in logged[0]
    # the ReLU model logs no slopes
    relu_dir = Path(results['ReLU'][0]['work_dir'])
    text = ''.join(p.read_text()
                   for p in relu_dir.rglob('vis_data/scalars.json'))
    assert 'prelu/' not in text


def test_checkpoint_feeds_prelu_slopes(compared, tmp_path):
    run = compared[0]['wise'][0]
    scalars = next(Path(run['work_dir']).rglob('vis_data/scalars.json'))
    slopes = prelu_slopes.main([
        run['checkpoint'], '--out-dir',
        str(tmp_path), '--history',
        str(scalars)
    ])
    assert len(slopes[0]) == 13
    assert (tmp_path / 'prelu_slopes_history.png').stat().st_size > 0
    # one SGD step moved the slopes off their 0.25 init
    assert any(abs(s['mean'] - 0.25) > 1e-6 for s in slopes[0].values())
