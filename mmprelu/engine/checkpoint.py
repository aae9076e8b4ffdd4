"""Weights-only checkpoint loading for mmengine's Runner.

torch >= 2.6 unpickles with ``weights_only=True`` by default and so refuses
the mmengine ``HistoryBuffer`` objects (numpy arrays inside) that a stock
Runner stores under ``checkpoint['message_hub']``. We keep weights-only
loading and allow exactly what our and stock mmengine/mmpretrain files need:

* files written with :class:`~mmprelu.engine.hooks.WeightsOnlyCheckpointHook`
  hold plain types; its marker dicts become ``HistoryBuffer`` objects / numpy
  arrays again (:func:`restore_plain_types`);
* stock files are read with a few data-only globals: numpy's array/scalar/
  dtype reconstruction, and ``HistoryBuffer`` mapped onto a stand-in that
  only records its fields (the real ``__setstate__`` would update a
  class-level method table from the file). The ``getattr(HistoryBuffer,
  'min')`` calls by which stock files pickle the default statistics methods
  go to a getattr that allows nothing else.

Anything else needing arbitrary unpickling is refused with
:class:`UnsafeCheckpointError`, naming the file and the offending globals.
On torch >= 2.5 torch's own weights-only unpickler does the work, with these
globals added through ``torch.serialization.safe_globals``; torch 2.1-2.4
has no such API, so there the file is read through our restricted
unpickler (:mod:`mmprelu.engine.restricted_unpickler`: the same allowlist,
the same refusal, no code from the file is ever run); decided once at
import (:data:`mmprelu.compat.HAS_WEIGHTS_ONLY_ALLOWLIST`).
The explicit opt-in, only for files you trust (the file then runs
arbitrary code: it is loaded with ``weights_only=False``, named in a
warning), is ``MMPRELU_ALLOW_UNSAFE_LOAD=1`` or torch's own
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``, which users of torch 2.14 already
set (torch reads it where a caller leaves ``weights_only`` unset, as stock
mmengine does; torch 2.1 has none): we honour it on every torch. torch's
``TORCH_FORCE_WEIGHTS_ONLY_LOAD=1`` makes torch 2.1-2.4 refuse a
``pickle_module``: there torch's own weights-only unpickler reads the file.

Importing this module changes nothing; on request
:mod:`mmprelu.engine.checkpoint_loaders` switches mmengine's loaders over.
"""
import copy
import os
import os.path as osp
import pickle
import re
from collections import Counter, OrderedDict

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log

from mmprelu.compat import HAS_WEIGHTS_ONLY_ALLOWLIST
from .restricted_unpickler import restricted_pickle
from .value_markers import OBJECT_KEY, decode

__all__ = [
    'load_checkpoint_safely', 'restore_plain_types', 'map_structure',
    'UnsafeCheckpointError', 'UNSAFE_LOAD_ENV', 'TORCH_UNSAFE_LOAD_ENV'
]

UNSAFE_LOAD_ENV = 'MMPRELU_ALLOW_UNSAFE_LOAD'
TORCH_UNSAFE_LOAD_ENV = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
_TORCH_WEIGHTS_ONLY_ENV = 'TORCH_FORCE_WEIGHTS_ONLY_LOAD'
# Marker keys written by WeightsOnlyCheckpointHook; the value is the format
# version. A user dict carrying one of these keys would be restored too.
HISTORY_BUFFER_KEY = '__mmprelu_history_buffer__'
NDARRAY_KEY = '__mmprelu_ndarray__'
_CONTAINERS = (dict, OrderedDict, Counter, list, tuple, set)
_STAT_METHODS = ('min', 'max', 'current', 'mean')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs arbitrary unpickling and the opt-in is not set."""


def map_structure(obj, fn, path='checkpoint'):
    """Apply ``fn(node, path)`` to ``obj`` and, where it returns the node
    unchanged, recurse into dict/OrderedDict/Counter/list/tuple/set.

    Copy-on-change, never in place (a checkpoint references live objects,
    e.g. a scheduler's ``base_values``); a changed dict is a shallow copy of
    its type, so a state dict's ``OrderedDict._metadata`` survives.
    """
    new = fn(obj, path)
    if new is not obj or type(obj) not in _CONTAINERS:
        return new
    if isinstance(obj, dict):
        items = [(map_structure(k, fn, f'{path} key {k!r}'),
                  map_structure(v, fn, f'{path}[{k!r}]'))
                 for k, v in obj.items()]
        if all(
                nk is k and nv is v
                for (nk, nv), (k, v) in zip(items, obj.items())):
            return obj
        new = copy.copy(obj)
        new.clear()
        for k, v in items:
            new[k] = v
        return new
    items = [map_structure(v, fn, f'{path}[{i}]') for i, v in enumerate(obj)]
    if all(n is o for n, o in zip(items, obj)):
        return obj
    return type(obj)(items)


class _PickledHistoryBuffer:
    """Stand-in resolved for ``HistoryBuffer`` while unpickling stock files:
    it keeps the pickled fields as data and runs no mmengine code."""

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(
                f'HistoryBuffer state must be a dict, got {type(state)}')
        self.state = state


def _history_buffer_getattr(obj, name):
    """``builtins.getattr`` for the unpickler: only the stock statistics
    methods, ``getattr(HistoryBuffer, 'min')`` etc.; their name is enough
    (HistoryBuffer registers these defaults itself)."""
    if obj is _PickledHistoryBuffer and name in _STAT_METHODS:
        return name
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed: only '
        f'HistoryBuffer.{{{",".join(_STAT_METHODS)}}} may be referenced')


def _safe_globals():
    """Data-only globals allowed on top of torch's weights-only defaults."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    allowed = [(_PickledHistoryBuffer,
                'mmengine.logging.history_buffer.HistoryBuffer'),
               (_history_buffer_getattr, 'builtins.getattr'), np.ndarray,
               np.dtype]
    for mod in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        allowed += [(multiarray._reconstruct, f'{mod}._reconstruct'),
                    (multiarray.scalar, f'{mod}.scalar')]
    # dtype instances are built with np.dtype(...) but their type is a
    # per-kind class (numpy.dtypes.Float64DType ...) that BUILD must accept.
    # Object/str/datetime dtypes are deliberately absent.
    allowed += [type(np.dtype(c)) for c in '?bhilqBHILQefdgFDG']
    return allowed


def _history_buffer(log, count, max_length, path):
    try:
        if isinstance(log, torch.Tensor):  # our marker dict
            log, count = log.cpu().numpy(), count.cpu().numpy()
        return HistoryBuffer(
            np.asarray(log), np.asarray(count), int(max_length))
    except Exception as err:
        raise ValueError(
            f'{path}: malformed HistoryBuffer data: {err!r}') from None


def _restore_node(obj, path):
    if isinstance(obj, _PickledHistoryBuffer):
        state = getattr(obj, 'state', {})
        return _history_buffer(
            state.get('_log_history'), state.get('_count_history'),
            state.get('max_length', 1000000), path)
    if not isinstance(obj, dict):
        return obj
    for key in (HISTORY_BUFFER_KEY, NDARRAY_KEY):
        if key in obj and obj[key] != 1:
            raise ValueError(f'{path}: unknown {key} format version '
                             f'{obj[key]!r} (this mmprelu reads version 1)')
    if HISTORY_BUFFER_KEY in obj:
        return _history_buffer(
            obj.get('log'), obj.get('count'), obj.get('max_length'), path)
    if OBJECT_KEY in obj:
        return decode(
            obj, path,
            lambda data: map_structure(data, _restore_node, f"{path}['data']"))
    if NDARRAY_KEY in obj:
        if not isinstance(obj.get('data'), torch.Tensor):
            raise ValueError(f'{path}: {NDARRAY_KEY} dict without tensor '
                             f"'data' (keys {list(obj)})")
        return obj['data'].cpu().numpy()
    return obj


def restore_plain_types(checkpoint):
    """Turn marker dicts (and stock HistoryBuffer stand-ins) back into
    ``HistoryBuffer`` objects, numpy arrays and the values of
    :mod:`mmprelu.engine.value_markers`, anywhere in ``checkpoint``."""
    return map_structure(checkpoint, _restore_node)


def _env_true(name):
    # torch's spelling of true for its TORCH_FORCE_* variables
    return os.environ.get(name,
                          '').strip().lower() in ('1', 'y', 'yes', 'true')


def _unsafe_load_switch():
    """The set variable that allows full unpickling, or None."""
    return next((name for name in (UNSAFE_LOAD_ENV, TORCH_UNSAFE_LOAD_ENV)
                 if _env_true(name)), None)


def _refused(message, local_file):
    """What torch's (or our) weights-only unpickler refused: the globals
    and the classes it names."""
    found = re.findall(r"GLOBAL ([\w.]+)|<class '([\w.]+)'>", message)
    found = [a or b for a, b in found]
    if local_file is not None and HAS_WEIGHTS_ONLY_ALLOWLIST:
        try:
            ours = {
                g[1]
                if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}'
                for g in _safe_globals()
            }
            found += [
                g
                for g in torch.serialization.get_unsafe_globals_in_checkpoint(
                    local_file) if g not in ours
            ]
        except Exception:  # not a zip file, unreadable...: keep the message
            pass
    return list(dict.fromkeys(found))


def _weights_only_allowlisted(load):
    """torch >= 2.5: ``load(weights_only=True)`` with our globals added to
    torch's allowlist for the call."""
    # only add what is not allowlisted yet: leaving the context removes
    # its entries, and must not drop ones the user added globally
    present = torch.serialization.get_safe_globals()
    extra = [g for g in _safe_globals() if g not in present]
    with torch.serialization.safe_globals(extra):
        return load(weights_only=True)


def _weights_only_restricted(load):
    """torch < 2.5 (no allowlist API): our restricted unpickler, which
    allows torch's tensor globals and ours and refuses everything else."""
    if _env_true(_TORCH_WEIGHTS_ONLY_ENV):  # torch refuses a pickle_module
        return load(weights_only=True)
    return load(
        weights_only=False, pickle_module=restricted_pickle(_safe_globals()))


#: The weights-only load of this torch (decided once, at import).
_weights_only_load = (
    _weights_only_allowlisted
    if HAS_WEIGHTS_ONLY_ALLOWLIST else _weights_only_restricted)


def _refusal(source, err, local_file):
    message = str(err)
    # drop torch's generic advice, keep its diagnosis
    reason = [
        line.strip() for line in message.splitlines()
        if line.strip() and not line.strip().startswith(
            ('Weights only load failed', '(1)', '(2)', 'Please file an issue',
             'Check the documentation'))
    ]
    reason = (reason[0] if reason else message).replace(
        'WeightsUnpickler error: ', '')
    names = _refused(message, local_file)
    what = ', '.join(names) or 'a value'
    if any(name.startswith('numpy.dtypes.') for name in names):
        what += (' (a numpy array of str, bytes or object dtype: only bool '
                 'and numeric arrays are data)')
    return UnsafeCheckpointError(
        f'Refusing to load checkpoint {source!r}: it holds {what}, which '
        f'weights-only loading does not allow; loading it needs arbitrary '
        f'unpickling, which can run arbitrary code. torch says: {reason}\n'
        f'Only if you trust this file, allow it for one command by setting '
        f'{UNSAFE_LOAD_ENV}=1 (or torch\'s {TORCH_UNSAFE_LOAD_ENV}=1), '
        f'e.g. `{UNSAFE_LOAD_ENV}=1 python tools/test.py CONFIG CHECKPOINT`; '
        f'it is then loaded with weights_only=False.')


def _load_with_policy(source, load, local_file=None):
    """``load(**torch_load_kwargs)`` weights-only under our allowlist;
    refuse or, with an opt-in variable, fall back to full unpickling."""
    try:
        checkpoint = _weights_only_load(load)
    except pickle.UnpicklingError as err:
        switch = _unsafe_load_switch()
        if switch is None:
            raise _refusal(source, err, local_file) from None
        print_log(
            f'{switch} is set: loading {source!r} with weights_only=False. '
            'This runs arbitrary code from the file; do it only for files '
            'you trust.',
            logger='current',
            level=30)
        checkpoint = load(weights_only=False)
    return restore_plain_types(checkpoint)


def load_checkpoint_safely(filename, map_location=None):
    """Load a local checkpoint weights-only (see the module docstring).

    Args:
        filename (str | os.PathLike): path of the file (``~`` is expanded).
        map_location: as for :func:`torch.load`.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: the file needs arbitrary unpickling and
            neither ``MMPRELU_ALLOW_UNSAFE_LOAD=1`` nor
            ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` is set.
    """
    filename = osp.expanduser(os.fspath(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return _load_file(filename, map_location, filename)


def _load_file(filename, map_location, source):
    return _load_with_policy(
        source,
        lambda **kwargs: torch.load(
            filename, map_location=map_location, **kwargs),
        local_file=filename)
