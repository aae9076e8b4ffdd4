"""tools/analysis/prelu_slopes.py: the Table 1-style table of a
checkpoint's learned slopes."""
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmprelu.registry import MODELS
import prelu_slopes  # tools/analysis, put on sys.path by conftest.py

EXPERIMENTS = Path(__file__).resolve().parents[2] / 'configs' / 'experiments'


def _checkpoint(tmp_path, config, name):
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(EXPERIMENTS / config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    state = model.state_dict()
    for i, key in enumerate(
            k for k in state if k.endswith('act.weight')
            or '.act' in k and k.startswith('head.')):
        state[key] = torch.full_like(state[key], 0.05 * (i + 1))
    path = tmp_path / name
    torch.save(dict(state_dict=state, meta=dict()), path)
    return path


def test_table_of_a_14_layer_checkpoint(tmp_path, capsys):
    wise = _checkpoint(tmp_path, 'prelu14_wise_digits.py', 'wise.pth')
    shared = _checkpoint(tmp_path, 'prelu14_shared_digits.py', 'shared.pth')
    out_dir = tmp_path / 'out'
    slopes = prelu_slopes.main([
        str(wise),
        str(shared), '--labels', 'wise', 'shared', '--out-dir',
        str(out_dir)
    ])
    assert [len(s) for s in slopes] == [13, 13]
    assert slopes[0]['backbone.stages.0.conv1.act']['channels'] == 16
    assert slopes[1]['backbone.stages.0.conv1.act']['channels'] == 1
    assert slopes[0]['head.layers.1.act']['mean'] == pytest.approx(0.65)
    out = capsys.readouterr().out
    # Table 1 names and the paper's values beside ours
    assert '| conv1 | backbone.stages.0.conv1.act | 0.05 | 0.05 | 0.681 ' \
        '| 0.596 |' in out
    assert '| fc2 | head.layers.1.act |' in out
    data = json.loads((out_dir / 'prelu_slopes.json').read_text())
    assert data['layers'][:2] == ['conv1', 'conv21']
    assert (out_dir / 'prelu_slopes.png').stat().st_size > 0


def test_relu_checkpoint_is_a_clear_error(tmp_path, capsys):
    path = _checkpoint(tmp_path, 'prelu14_relu_digits.py', 'relu.pth')
    with pytest.raises(SystemExit) as err:
        prelu_slopes.main([str(path), '--out-dir', str(tmp_path)])
    assert err.value.code == 2
    assert 'no PReLU slopes found' in capsys.readouterr().err


@pytest.mark.parametrize('args,message', [
    (['missing.pth'], 'checkpoint not found'),
])
def test_missing_file(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit):
        prelu_slopes.main(args + ['--out-dir', str(tmp_path)])
    assert message in capsys.readouterr().err


def test_labels_must_match(tmp_path):
    path = _checkpoint(tmp_path, 'prelu14_wise_digits.py', 'wise.pth')
    with pytest.raises(SystemExit):
        prelu_slopes.main([str(path), '--labels', 'a', 'b'])
