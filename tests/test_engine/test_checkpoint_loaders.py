"""mmengine's loaders under our weights-only policy and the ecosystem's
switches: torch's TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD / TORCH_FORCE_WEIGHTS_ONLY_
LOAD, a legacy zip checkpoint served over http (torch.hub unpacks those),
and a refusal that names what it refused and the one line that allows it."""
import argparse
import functools
import http.server
import pickle
import threading
import zipfile

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint

from mmprelu.engine import checkpoint as safe_ckpt

OURS, TORCHS = safe_ckpt.UNSAFE_LOAD_ENV, safe_ckpt.TORCH_UNSAFE_LOAD_ENV
SWITCHES = (OURS, TORCHS, 'TORCH_FORCE_WEIGHTS_ONLY_LOAD')


@pytest.fixture(autouse=True)
def no_switches(monkeypatch):
    for name in SWITCHES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def logged(monkeypatch):
    messages = []
    monkeypatch.setattr(safe_ckpt, 'print_log',
                        lambda msg, **kw: messages.append(msg))
    return messages


def save(path, meta, **kwargs):
    torch.save({
        'meta': meta,
        'state_dict': {
            'w': torch.arange(3.)
        }
    }, path, **kwargs)
    return str(path)


@pytest.mark.parametrize('switch', [OURS, TORCHS])
@pytest.mark.parametrize('value', ['1', 'true', 'Y'])
def test_either_switch_allows_full_unpickling(tmp_path, monkeypatch, logged,
                                              switch, value):
    """A checkpoint with an argparse.Namespace in its meta (what older
    OpenMMLab tools stored) loads as in stock mmengine once torch's own
    switch is set, as with ours; the warning names the variable."""
    path = save(tmp_path / 'ns.pth', {'args': argparse.Namespace(lr=0.1)})
    with pytest.raises(pickle.UnpicklingError, match='argparse.Namespace'):
        _load_checkpoint(path)
    monkeypatch.setenv(switch, value)
    assert _load_checkpoint(path)['meta']['args'].lr == 0.1
    assert len(logged) == 1 and logged[0].startswith(f'{switch} is set')


def test_torch_force_weights_only_is_honoured(tmp_path, monkeypatch):
    """TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 makes torch < 2.5 refuse the
    pickle_module our restricted unpickler needs: the file is then read by
    torch's own weights-only unpickler."""
    path = save(tmp_path / 'plain.pth', {'epoch': 3})
    monkeypatch.setenv('TORCH_FORCE_WEIGHTS_ONLY_LOAD', '1')
    assert _load_checkpoint(path)['meta'] == {'epoch': 3}


@pytest.mark.parametrize('array,kind', [
    (np.array(['ab', 'c']), 'StrDType'),
    (np.array([b'ab']), 'BytesDType'),
    (np.array([1, 'x'], dtype=object), 'ObjectDType'),
])
def test_refusal_names_what_and_how_to_allow(tmp_path, monkeypatch, array,
                                             kind):
    path = save(tmp_path / f'{kind}.pth', {'classes': array})
    with pytest.raises(pickle.UnpicklingError) as info:
        _load_checkpoint(path)
    message = str(info.value)
    assert f'it holds numpy.dtypes.{kind} (a numpy array of str, bytes or ' \
           f'object dtype' in message
    assert f'`{OURS}=1 python tools/test.py' in message
    assert TORCHS in message and path in message
    assert 'see below' not in message
    monkeypatch.setenv(OURS, '1')
    np.testing.assert_array_equal(
        _load_checkpoint(path)['meta']['classes'], array)


class Quiet(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A folder served over http on 127.0.0.1 (a fresh torch.hub cache)."""
    folder = tmp_path / 'served'
    folder.mkdir()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'hub'))
    for name in ('no_proxy', 'NO_PROXY'):
        monkeypatch.setenv(name, '127.0.0.1,localhost')
    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def legacy_zip(folder, name, meta):
    """torch < 1.6's published format: one legacy-serialized file, zipped."""
    inner = save(
        folder / f'{name}.pth', meta, _use_new_zipfile_serialization=False)
    with zipfile.ZipFile(folder / f'{name}.zip', 'w') as archive:
        archive.write(inner, f'{name}.pth')
    return f'{name}.zip'


def test_legacy_zip_url_loads(served, tmp_path):
    folder, base = served
    name = legacy_zip(folder, 'resnet_legacy', {'epoch': 90})
    checkpoint = _load_checkpoint(f'{base}/{name}')
    assert checkpoint['meta'] == {'epoch': 90}
    assert torch.equal(checkpoint['state_dict']['w'], torch.arange(3.))
    # unpacked into torch.hub's cache, as torch.hub does
    cache = tmp_path / 'hub' / 'hub' / 'checkpoints'  # $TORCH_HOME/hub
    assert (cache / 'resnet_legacy.pth').is_file()


def test_legacy_zip_url_obeys_the_policy(served, monkeypatch):
    folder, base = served
    name = legacy_zip(folder, 'odd', {'args': argparse.Namespace(lr=0.1)})
    with pytest.raises(pickle.UnpicklingError, match='argparse.Namespace'):
        _load_checkpoint(f'{base}/{name}')
    monkeypatch.setenv(TORCHS, '1')
    assert _load_checkpoint(f'{base}/{name}')['meta']['args'].lr == 0.1
