"""benchmarks/dense_vs_crops.py runs at a tiny size (no timing asserted)."""
import json

from benchmarks.dense_vs_crops import main


def test_runs_and_reports_consistent_results(tmp_path):
    out = tmp_path / 'dense.json'
    result = main([
        '--width', '0.05', '--hidden', '16', '--scale', '240', '--repeats',
        '1', '--out',
        str(out)
    ])
    # 240 x 320 image, stride 16: a 15 x 20 map, 2 x 7 windows of 14 x 14
    assert result['feature_map'] == [15, 20]
    assert result['windows'] == 14
    assert result['max_abs_diff_conv_vs_windows'] < 1e-5
    assert set(result['seconds']) == {'dense-conv', 'dense-windows', 'crops'}
    assert json.loads(out.read_text())['windows'] == 14
