"""Marker dicts for checkpoint values that torch 2.1's ``weights_only``
unpickler refuses.

torch 2.1-2.4 read ``torch.load(f, weights_only=True)`` with a fixed
allowlist: dict/``OrderedDict``/list/tuple, ``None``/bool/int/float/str,
tensors, ``torch.Size``, layouts and only ten dtypes. It refuses
``collections.Counter`` (mmengine's ``MultiStepParamScheduler`` keeps its
milestones in one, so every scheduler state dict holds it), ``set``,
``frozenset``, ``complex``, ``bytes``, ``bytearray``, ``torch.device``, the
dtypes ``torch.bool``/``uint8``/``bfloat16``/... and ints over 255 bytes
(torch 2.14 still refuses ``frozenset`` and the big ints). So that a file
written on any supported torch loads on every one,
:class:`~mmprelu.engine.hooks.WeightsOnlyCheckpointHook` always stores these
values as ``{OBJECT_KEY: 1, 'type': <name>, 'data': <plain data>}``; we chose
one format for every torch over a per-version switch because checkpoints
move between environments. :func:`decode` rebuilds the value (the loaders
of :mod:`mmprelu.engine.checkpoint` call it), so a resumed scheduler gets its
``Counter`` back.

``'data'`` per type: ``collections.Counter``, ``dict``,
``collections.OrderedDict`` -- a list of ``[key, value]`` pairs (a dict only
becomes a marker when one of its keys would; its ``_metadata`` is not
kept); ``set``/``frozenset`` -- a list; ``complex`` -- ``[real, imag]``;
``bytes``/``bytearray`` -- a uint8 tensor; ``torch.device``/``torch.dtype``
-- its ``str``; ``int`` -- its ``hex`` string.
"""
from collections import Counter, OrderedDict

import numpy as np
import torch

__all__ = ['OBJECT_KEY', 'encode', 'decode']

OBJECT_KEY = '__mmprelu_object__'
# ints pickled with more than 255 bytes use LONG4, which no weights-only
# unpickler reads; sign bit included
_MAX_INT_BITS = 255 * 8 - 1
_PLAIN_KEY_TYPES = (str, int, float, bool, type(None))


def _marker(name, data):
    return {OBJECT_KEY: 1, 'type': name, 'data': data}


def _pairs(mapping, path, convert, keys=None):
    """``[[key, value], ...]`` converted; ``keys``: the keys already
    converted (in ``mapping``'s order)."""
    if keys is None:
        keys = [convert(k, f'{path} key {k!r}') for k in mapping]
    return [[key, convert(v, f'{path}[{k!r}]')]
            for key, (k, v) in zip(keys, mapping.items())]


def _marker_keys(mapping, path, convert):
    """The converted keys of a dict/OrderedDict that must be stored as
    pairs (some key turns into a marker dict: unhashable, so it cannot stay
    a key), else None."""
    if all(type(k) in _PLAIN_KEY_TYPES and not _big_int(k) for k in mapping):
        return None
    keys = [convert(k, f'{path} key {k!r}') for k in mapping]
    try:
        hash(tuple(keys))
    except TypeError:
        return keys
    return None


def _big_int(value):
    return type(value) is int and value.bit_length() > _MAX_INT_BITS


def _bytes_tensor(value):
    return torch.from_numpy(np.frombuffer(bytes(value), np.uint8).copy())


def encode(obj, path, convert):
    """The marker for ``obj``, or None when ``obj`` needs none.
    ``convert(child, child_path)`` converts nested values."""
    kind = type(obj)
    if kind is Counter:
        return _marker('collections.Counter', _pairs(obj, path, convert))
    keys = _marker_keys(obj, path, convert) if kind in (dict, OrderedDict) \
        else None
    if keys is not None:
        name = 'dict' if kind is dict else 'collections.OrderedDict'
        return _marker(name, _pairs(obj, path, convert, keys))
    if kind in (set, frozenset):
        return _marker(kind.__name__,
                       [convert(v, f'{path}[{i}]') for i, v in enumerate(obj)])
    if kind is complex:
        return _marker('complex', [obj.real, obj.imag])
    if kind in (bytes, bytearray):
        return _marker(kind.__name__, _bytes_tensor(obj))
    if kind is torch.device:
        return _marker('torch.device', str(obj))
    if kind is torch.dtype:
        return _marker('torch.dtype', str(obj))
    if _big_int(obj):
        return _marker('int', hex(obj))
    return None


def _dtype(name):
    value = getattr(torch, name[len('torch.'):], None) \
        if name.startswith('torch.') else None
    if not isinstance(value, torch.dtype):
        raise ValueError(f'unknown dtype {name!r}')
    return value


def _uint8(data):
    if not (isinstance(data, torch.Tensor) and data.dtype == torch.uint8):
        raise ValueError(f'expected a uint8 tensor, got {type(data)}')
    return data.cpu().numpy().tobytes()


def _pair_list(data):
    if not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in data):
        raise ValueError('expected a list of [key, value] pairs')
    return [tuple(p) for p in data]


_DECODERS = {
    'collections.Counter': lambda d: Counter(dict(_pair_list(d))),
    'dict': lambda d: dict(_pair_list(d)),
    'collections.OrderedDict': lambda d: OrderedDict(_pair_list(d)),
    'set': set,
    'frozenset': frozenset,
    'complex': lambda d: complex(*d),
    'bytes': _uint8,
    'bytearray': lambda d: bytearray(_uint8(d)),
    'torch.device': torch.device,
    'torch.dtype': _dtype,
    'int': lambda d: int(d, 16),
}


def decode(obj, path, restore):
    """Rebuild the value of marker dict ``obj`` (``restore(data)`` first
    restores the markers nested in its data). Raises ``ValueError`` naming
    ``path`` for an unknown version or type or malformed data."""
    if obj[OBJECT_KEY] != 1:
        raise ValueError(f'{path}: unknown {OBJECT_KEY} format version '
                         f'{obj[OBJECT_KEY]!r} (this mmprelu reads version 1)')
    name = obj.get('type')
    if name not in _DECODERS:
        raise ValueError(f'{path}: unknown {OBJECT_KEY} type {name!r}; '
                         f'valid types: {sorted(_DECODERS)}')
    if 'data' not in obj:
        raise ValueError(f"{path}: {name} marker without 'data'")
    data = restore(obj['data'])  # nested errors name their own path
    try:
        return _DECODERS[name](data)
    except Exception as err:
        raise ValueError(f'{path}: malformed {name} marker: {err!r}') from None
