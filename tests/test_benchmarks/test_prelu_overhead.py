"""benchmarks/prelu_overhead.py runs at a tiny size (no timing asserted)."""
import json

import pytest

from benchmarks.prelu_overhead import VARIANTS, main


def test_runs_and_reports_every_variant(tmp_path):
    out = tmp_path / 'prelu.json'
    result = main(['--width', '0.05', '--hidden', '16', '--classes', '10',
                   '--size', '64', '--batch', '2', '--act-shape', '2,8,4,4',
                   '--repeats', '1', '--out', str(out)])
    # 64 input, model C: 32 -> 16 -> 8 -> 4, so SPP keeps levels 3, 2, 1
    assert result['feature_map'] == 4 and result['spp_levels'] == [3, 2, 1]
    for part in ('step', 'act'):
        assert set(result[part]['seconds']) == set(VARIANTS)
        assert result[part]['ratio_to_relu']['relu'] == pytest.approx(1.0)
        assert all(s > 0 for s in result[part]['seconds'].values())
    saved = result['saved']['mib']
    # ours keeps the output (shared with the next conv) plus the slopes;
    # stock keeps the input too
    for mode in ('cw', 'shared'):
        assert saved['relu'] <= saved[f'ours-{mode}'] < saved[f'stock-{mode}']
    assert json.loads(out.read_text())['act_shape'] == [2, 8, 4, 4]


def test_bad_act_shape():
    with pytest.raises(SystemExit):
        main(['--act-shape', '8'])
