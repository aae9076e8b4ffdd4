"""tools/analysis/signal_propagation.py: Eq. 9 / Eq. 13 at initialization
(reduced width and input)."""
import json

import pytest
import signal_propagation as sp  # tools/analysis, on sys.path (conftest)


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp('signal')
    res, md, png = sp.run(
        models=('30', ),
        acts=('ReLU', 'PReLU'),
        width_div=8,
        size=160,
        batch=2,
        out_dir=out)
    return {(r['act'], r['init']): r for r in res}, md, png, out


@pytest.mark.parametrize('act', ['ReLU', 'PReLU'])
@pytest.mark.parametrize('direction', ['forward', 'backward'])
def test_msra_keeps_and_xavier_halves_the_variance(results, act, direction):
    by_key = results[0]
    key = f'{direction}_factor'
    for init in ('fan_in', 'fan_out'):
        # MSRA: the std of the last stage changes < 15% per layer
        assert 0.85 < by_key[(act, init)][key] < 1.15
    # Xavier: about 1/sqrt(2) per layer (§2.5)
    assert 0.55 < by_key[(act, 'xavier')][key] < 0.85
    # fixed 0.01: far smaller still
    assert by_key[(act, 'std0.01')][key] < 0.3


def test_outputs(results):
    by_key, md, png, out = results
    assert len(by_key) == 8
    assert by_key[('ReLU', 'fan_in')]['stage'].count(2) == 22
    assert len(by_key[('ReLU', 'xavier')]['forward']) == 27
    assert '| 30 | ReLU | fan_in | 27 |' in md
    assert png.stat().st_size > 0
    data = json.loads((out / 'signal_propagation.json').read_text())
    assert data['width_div'] == 8


def test_cli_and_bad_input(tmp_path, capsys):
    sp.main([
        '--models', 'B', '--acts', 'ReLU', '--inits', 'xavier', '--width-div',
        '16', '--size', '32', '--batch', '1', '--out-dir',
        str(tmp_path)
    ])
    assert '| B | ReLU | xavier | 19 |' in capsys.readouterr().out
    for args in (['--inits', 'glorot'], ['--size', '0']):
        with pytest.raises(SystemExit):
            sp.main(args + ['--out-dir', str(tmp_path)])
    with pytest.raises(ValueError, match='unknown model'):
        sp.build_trunk('D', 'ReLU', 1)
