"""benchmarks/batch_size.py runs at a tiny size (no timing asserted)."""
import json

import pytest

from benchmarks.batch_size import DEMO, main, parse_args


def test_reports_every_batch_size(tmp_path):
    out = tmp_path / 'batch.json'
    result = main([
        '--batches', '2,4', '--size', '56', '--repeats', '1', '--out',
        str(out)
    ])
    assert result['config'] == DEMO and result['threads'] == 1
    assert set(result['seconds_per_step']) == {'2', '4'}
    assert result['ratio_to_first']['2'] == pytest.approx(1.0)
    for batch in ('2', '4'):
        assert result['seconds_per_step'][batch] > 0
        assert result['ms_per_image'][batch] == pytest.approx(
            1e3 * result['seconds_per_step'][batch] / int(batch))
    assert json.loads(out.read_text())['size'] == 56


@pytest.mark.parametrize('batches', ['32,x', '0,4', ''])
def test_bad_batches(batches, capsys):
    with pytest.raises(SystemExit):
        parse_args(['--batches', batches])
    assert '--batches' in capsys.readouterr().err
