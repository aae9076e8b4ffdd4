"""Values torch 2.1's weights-only unpickler refuses are stored as marker
dicts by WeightsOnlyCheckpointHook and restored on load, on every torch."""
import io
from collections import Counter, OrderedDict

import numpy as np
import pytest
import torch

from mmprelu.engine.checkpoint import restore_plain_types
from mmprelu.engine.hooks.checkpoint_hook import to_plain_types
from mmprelu.engine.value_markers import OBJECT_KEY
from torch21_allowlist import torch21_refusals

VALUES = {
    'Counter': Counter({
        1: 2,
        'x': 1
    }),
    'set': {1, (2, 'a')},
    'empty set': set(),
    'frozenset': frozenset({'a', 3}),
    'complex': 1.5 - 2j,
    'bytes': b'\x00\xffab',
    'empty bytes': b'',
    'bytearray': bytearray(b'xy'),
    'device': torch.device('cpu'),
    'dtypes': [torch.bool, torch.uint8, torch.bfloat16, torch.float32],
    'huge int': -2**3000,
    'odd keys': {
        1 + 1j: 'a',
        frozenset({2}): 'b',
        torch.int64: 'c'
    },
    'OrderedDict with bytes keys': OrderedDict([(b'k', 1), (b'j', 2)]),
    'nested': [{
        'c': Counter({'y': 3})
    }, ({b'a'}, )],
}


def saved_and_loaded(value):
    buffer = io.BytesIO()
    torch.save(to_plain_types(value), buffer)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize('name', list(VALUES))
def test_round_trip_through_plain_weights_only_load(name):
    value = VALUES[name]
    buffer = saved_and_loaded({'x': value})
    assert torch21_refusals(buffer) == []
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)['x']
    assert loaded != value  # stored as markers, not as themselves
    restored = restore_plain_types(loaded)
    assert restored == value and type(restored) is type(value)


def test_scan_sees_what_torch21_refuses():
    """The allowlist scan catches the unconverted values (so the round
    trip above proves something on a torch that reads them anyway)."""
    for value in (Counter(), {1}, 1j, b'x', torch.device('cpu'), torch.bool,
                  2**3000):
        buffer = io.BytesIO()
        torch.save(value, buffer)
        buffer.seek(0)
        assert torch21_refusals(buffer), value


def test_plain_dicts_and_state_dicts_stay_as_they_are():
    state = OrderedDict(w=torch.ones(2))
    state._metadata = {'': {'version': 1}}
    value = {
        'state': state,
        3: 'int key',
        np.int64(4): 'numpy key',
        (1, 2): 'tuple key',
        'size': torch.Size([2]),
        'f': 0.5
    }
    plain = to_plain_types(value)
    assert plain['state'] is state  # unchanged, not copied
    assert set(plain) == {'state', 3, 4, (1, 2), 'size', 'f'}
    assert OBJECT_KEY not in str(plain)


@pytest.mark.parametrize('marker,match', [
    ({
        OBJECT_KEY: 2,
        'type': 'set',
        'data': []
    }, 'unknown __mmprelu_object__ format version 2'),
    ({
        OBJECT_KEY: 1,
        'type': 'builtins.eval',
        'data': 'x'
    }, r"unknown __mmprelu_object__ type 'builtins.eval'; valid types: \["),
    ({
        OBJECT_KEY: 1,
        'type': 'torch.dtype',
        'data': 'torch.nn'
    }, "malformed torch.dtype marker.*unknown dtype 'torch.nn'"),
    ({
        OBJECT_KEY: 1,
        'type': 'bytes',
        'data': [1, 2]
    }, 'malformed bytes marker.*uint8 tensor'),
    ({
        OBJECT_KEY: 1,
        'type': 'collections.Counter',
        'data': [[1]]
    }, 'malformed collections.Counter marker.*pairs'),
    ({
        OBJECT_KEY: 1,
        'type': 'set'
    }, "set marker without 'data'"),
])
def test_bad_marker_names_path_and_problem(marker, match):
    with pytest.raises(ValueError, match=r"checkpoint\['meta'\]: " + match):
        restore_plain_types({'meta': marker})
