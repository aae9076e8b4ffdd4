"""benchmarks/prelu_overhead.py runs at a tiny size (no timing asserted)."""
import json

import pytest

from benchmarks.prelu_overhead import VARIANTS, main


def test_runs_and_reports_every_variant(tmp_path):
    out = tmp_path / 'prelu.json'
    result = main([
        '--arch', 'C', '--width', '0.05', '--hidden', '16', '--classes', '10',
        '--size', '64', '--batch', '2', '--act-shape', '2,8,4,4', '--repeats',
        '1', '--variants', *VARIANTS, '--out',
        str(out)
    ])
    # 64 input, model C: 32 -> 16 -> 8 -> 4, so SPP keeps levels 3, 2, 1
    assert result['feature_map'] == 4 and result['spp_levels'] == [3, 2, 1]
    for part in ('step', 'act'):
        assert set(result[part]['seconds']) == set(VARIANTS)
        assert result[part]['ratio_to_relu']['relu'] == pytest.approx(1.0)
        assert all(s > 0 for s in result[part]['seconds'].values())
    saved = result['saved']['mib']
    # lean keeps the output, which the next conv keeps too: ReLU's bytes
    # (parameters left out); torch (F.prelu) keeps the input as well
    for mode in ('', '-shared'):
        assert saved['relu'] == saved[f'lean{mode}'] < saved[f'torch{mode}']
    assert json.loads(out.read_text())['act_shape'] == [2, 8, 4, 4]


def test_relu_always_in_and_cpu_clock():
    result = main([
        '--width', '0.05', '--hidden', '16', '--classes', '10', '--size', '64',
        '--batch', '1', '--act-shape', '2,4', '--repeats', '1', '--variants',
        'lean', '--clock', 'cpu'
    ])
    assert set(result['step']['seconds']) == {'relu', 'lean'}
    assert result['clock'] == 'cpu'


@pytest.mark.parametrize('argv',
                         [['--act-shape', '8'], ['--variants', 'fast']])
def test_bad_arguments(argv):
    with pytest.raises(SystemExit):
        main(argv)
