"""benchmarks/mixed_shapes.py runs at a tiny size (no timing asserted)."""
import json

from benchmarks.mixed_shapes import main


def test_runs_and_reports_consistent_results(tmp_path):
    out = tmp_path / 'mixed.json'
    result = main([
        '--width', '0.05', '--hidden', '16', '--batch', '6', '--scale', '112',
        '--crop', '112', '--repeats', '1', '--out',
        str(out)
    ])
    assert result['mixed_sizes'] == [(112, 112), (112, 149), (149, 112)]
    assert result['max_abs_diff_equal'] < 1e-6
    assert result['max_abs_diff_mixed'] < 1e-5
    assert result['collate_equal'] is True
    assert set(result['ratios']) == {
        'equal_predict_over_plain', 'mixed_one_by_one_over_predict',
        'collate_pseudo_over_default'
    }
    assert json.loads(out.read_text())['batch'] == 6
