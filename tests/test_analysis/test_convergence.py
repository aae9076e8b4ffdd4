"""tools/analysis/convergence.py on a reduced setting: 1 epoch of 32
images for the MSRA and the Xavier 30-layer configs."""
import json
import math
from pathlib import Path

import convergence  # tools/analysis, on sys.path (conftest.py)
import pytest

EXPERIMENTS = Path(__file__).resolve().parents[2] / 'configs' / 'experiments'
CONFIGS = [
    EXPERIMENTS / 'plain30_relu_msra_digits.py',
    EXPERIMENTS / 'plain30_relu_xavier_digits.py'
]


def test_msra_vs_xavier_reduced(tmp_path, digits_root, capsys):
    out = tmp_path / 'out'
    runs = convergence.main([
        *map(str, CONFIGS), '--labels', 'MSRA', 'Xavier', '--epochs', '1',
        '--data-root',
        str(digits_root), '--train-indices', '64', '--val-indices', '16',
        '--work-dir',
        str(tmp_path / 'work'), '--out-dir',
        str(out)
    ])
    assert set(runs) == {'MSRA', 'Xavier'}
    for run in runs.values():
        log = run['log']
        assert len(log['loss']) == 2  # 64 images, batch 32
        assert all(math.isfinite(v) and v > 0 for v in log['loss'])
        # grad_norm comes from the configs' never-clipping clip_grad
        assert all(math.isfinite(v) and v > 0 for v in log['grad_norm'])
        assert 'accuracy/top1' in run['val']
        assert Path(run['checkpoint']).is_file()
    # the Xavier gradient reaching conv1 is orders of magnitude smaller
    # (Fig. 3: "its gradients are all diminishing")
    assert runs['Xavier']['log']['grad_first_conv'][0] < \
        1e-2 * runs['MSRA']['log']['grad_first_conv'][0]
    assert '| MSRA | 2 |' in capsys.readouterr().out
    data = json.loads((out / 'convergence.json').read_text())
    assert data['epochs'] == 1
    assert (out / 'convergence.png').stat().st_size > 0


@pytest.mark.parametrize('args', [
    [str(CONFIGS[0]), '--labels', 'a', 'b'],
    [str(CONFIGS[0]), str(CONFIGS[1]), '--labels', 'a', 'a'],
    ['missing.py'],
    [str(CONFIGS[0]), '--epochs', '0'],
])
def test_bad_arguments(args):
    with pytest.raises(SystemExit):
        convergence.main(args)
