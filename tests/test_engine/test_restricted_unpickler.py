"""Both weights-only loads of mmprelu.engine.checkpoint, on every torch:
torch's own unpickler with our allowlist (torch >= 2.5) and our restricted
unpickler (what torch 2.1-2.4 use). A planted payload is refused and never
run; stock mmengine data and every plain checkpoint value loads."""
import io
import os
import pickle
import shlex
from collections import Counter, OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmprelu import compat
from mmprelu.engine import checkpoint as safe_ckpt
from mmprelu.engine import load_checkpoint_safely
from mmprelu.engine.restricted_unpickler import (TORCH_GLOBALS,
                                                 restricted_pickle)

ENV = 'MMPRELU_ALLOW_UNSAFE_LOAD'
LOADS = {
    'allowlisted': safe_ckpt._weights_only_allowlisted,
    'restricted': safe_ckpt._weights_only_restricted,
}


@pytest.fixture(params=list(LOADS))
def load(request, monkeypatch):
    """load_checkpoint_safely, forced onto one of the two paths."""
    if request.param == 'allowlisted' and \
            not compat.HAS_WEIGHTS_ONLY_ALLOWLIST:
        pytest.skip(f'torch {torch.__version__} has no safe_globals API '
                    '(the restricted path is the one used here)')
    monkeypatch.setattr(safe_ckpt, '_weights_only_load', LOADS[request.param])
    monkeypatch.delenv(ENV, raising=False)
    return load_checkpoint_safely


def test_the_path_is_chosen_once_by_the_torch_version():
    has_api = hasattr(torch.serialization, 'safe_globals')
    assert compat.HAS_WEIGHTS_ONLY_ALLOWLIST == has_api
    expected = 'allowlisted' if has_api else 'restricted'
    assert safe_ckpt._weights_only_load is LOADS[expected]


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {shlex.quote(str(self.marker))}', )


class SneakyRebuild:
    """The payload as the function an allowed rebuild function calls."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return torch._tensor._rebuild_from_type_v2, (os.system, torch.Tensor, (
            f'touch {shlex.quote(str(self.marker))}', ), {})


@pytest.mark.parametrize('planted', [Payload, SneakyRebuild])
@pytest.mark.parametrize('legacy', [False, True])
def test_payload_is_refused_and_never_run(load, tmp_path, planted, legacy):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(
        {
            'state_dict': {
                'w': torch.ones(2)
            },
            'meta': OrderedDict(x=[planted(marker)])
        },
        path,
        _use_new_zipfile_serialization=not legacy)
    with pytest.raises(pickle.UnpicklingError) as info:
        load(path)
    assert str(path) in str(info.value) and ENV in str(info.value)
    assert 'system' in str(info.value)  # the offending global is named
    assert not marker.exists()


def test_plain_values_and_stock_mmengine_data_load(load, tmp_path):
    buffer = HistoryBuffer()
    buffer.update(0.5)
    buffer.update(1.5, count=2)
    value = {
        'tensors': [
            torch.randn(2, 3),
            torch.arange(4),
            torch.ones(2, dtype=torch.bfloat16),
            torch.zeros(2, dtype=torch.bool),
            torch.randn(4, 3).t(),
            torch.randn(1, 2, 3, 3).to(memory_format=torch.channels_last)
        ],
        'param':
        torch.nn.Parameter(torch.ones(3)),
        'plain': (None, True, 3, 2.5, 1 + 2j, 'str', b'bytes',
                  bytearray(b'ba'), {1, 2}, Counter(a=2)),
        'torch':
        (torch.Size([2,
                     3]), torch.float16, torch.device('cpu'), torch.strided),
        'numpy': (np.arange(3, dtype=np.int16), np.float32(0.5), np.int64(7),
                  np.zeros((2, 2), dtype=np.float64)),
        'message_hub': {
            'train/loss': buffer
        },
    }
    path = tmp_path / 'plain.pth'
    torch.save(value, path)
    loaded = load(path)
    for ours, ref in zip(loaded['tensors'], value['tensors']):
        assert torch.equal(ours, ref) and ours.stride() == ref.stride()
    assert isinstance(loaded['param'], torch.nn.Parameter)
    assert loaded['plain'] == value['plain']
    assert loaded['torch'] == value['torch']
    for ours, ref in zip(loaded['numpy'], value['numpy']):
        assert type(ours) is type(ref) and ours.dtype == ref.dtype
        np.testing.assert_array_equal(ours, ref)
    restored = loaded['message_hub']['train/loss']
    assert isinstance(restored, HistoryBuffer)
    np.testing.assert_array_equal(restored.data[0], [0.5, 1.5])
    np.testing.assert_array_equal(restored.data[1], [1, 2])


class GetAttr:
    """Abuses the getattr that stock HistoryBuffer pickles need."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


@pytest.mark.parametrize('value,match', [
    (GetAttr(), 'getattr'),
    (np.array([1, 'a'], dtype=object), 'ObjectDType'),
    (np.array(['a', 'b']), 'StrDType'),
    (pickle.Unpickler, 'Unpickler'),
])
def test_allowlist_stays_data_only(load, tmp_path, value, match):
    path = tmp_path / 'odd.pth'
    torch.save({'meta': value}, path)
    with pytest.raises(pickle.UnpicklingError, match=match):
        load(path)


def test_restricted_module_refuses_what_it_does_not_list():
    module = restricted_pickle([(len, 'builtins.len')])
    unpickler = module.Unpickler(io.BytesIO(b''))
    assert unpickler.find_class('builtins', 'len') is len
    assert unpickler.find_class('__builtin__', 'set') is set  # protocol 2
    assert unpickler.find_class('torch', 'float64') is torch.float64
    for module_name, name in (('builtins', 'eval'), ('torch', 'load'),
                              ('torch', 'nn'), ('os', 'system')):
        with pytest.raises(pickle.UnpicklingError, match=name):
            unpickler.find_class(module_name, name)


@pytest.mark.parametrize('name', sorted(TORCH_GLOBALS))
def test_torch_globals_resolve_on_this_torch(name):
    """Fails loudly when a torch release renames what it writes for
    tensors (the names are resolved by pickle, not imported by us)."""
    module, _, attr = name.rpartition('.')
    unpickler = restricted_pickle().Unpickler(io.BytesIO(b''))
    assert callable(unpickler.find_class(module, attr))
