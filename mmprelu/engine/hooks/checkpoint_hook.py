"""Write checkpoints that plain ``torch.load(f, weights_only=True)`` reads.

A stock mmengine Runner pickles ``HistoryBuffer`` objects (numpy arrays
inside) and numpy scalars (e.g. ``runtime_info['eta']``) into every
checkpoint, so torch >= 2.6 refuses to load it by default. This hook rewrites
the checkpoint dict just before it is saved:

* ``HistoryBuffer`` -> ``{'__mmprelu_history_buffer__': 1, 'log': Tensor,
  'count': Tensor, 'max_length': int}``;
* ``numpy.ndarray`` -> ``{'__mmprelu_ndarray__': 1, 'data': Tensor}`` (the
  tensor keeps the dtype, so the array comes back unchanged);
* numpy scalars -> Python numbers (``.item()``; they are not restored as
  numpy scalars, which behave the same for all uses in mmengine);
* what torch 2.1's weights-only unpickler refuses -- ``Counter`` (the
  milestones of ``MultiStepLR``), ``set``/``frozenset``, ``complex``,
  ``bytes``/``bytearray``, ``torch.device``, ``torch.dtype``, ints over 255
  bytes, and dicts keyed by such values -- -> ``{'__mmprelu_object__': 1,
  'type': ..., 'data': ...}`` (:mod:`mmprelu.engine.value_markers`), on
  every torch, so that a file written on the newest torch also loads on the
  oldest;

everywhere in the checkpoint (meta, message hub, optimizer, schedulers, and
keys added by other hooks: this hook runs with priority ``LOWEST``, i.e.
after them). :func:`mmprelu.engine.load_checkpoint_safely` (mmengine's local
loader once mmprelu is imported) turns the markers back into
``HistoryBuffer`` objects, arrays and the original values; so does this
hook's ``after_load_checkpoint`` for files read through other loaders.

Any other value must already be weights-only loadable on torch 2.1:
``None``, ``bool``, ``int``, ``float``, ``str``, ``torch.Tensor``/
``Parameter``, ``torch.Size``/``layout``, and ``dict``/``OrderedDict``/
``list``/``tuple`` of those (exact types: a namedtuple, ``defaultdict`` or
enum is refused by ``torch.load`` and so here). We chose to fail loudly: with
``strict=True`` (default) such a value raises ``TypeError`` naming its key
path before anything is written, because silently converting it could
change what the component gets back on resume. ``strict=False`` logs a
warning instead and saves the value as is; that file then needs the unsafe
opt-in ``MMPRELU_ALLOW_UNSAFE_LOAD=1`` to load.
"""
from collections import OrderedDict

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log

from mmprelu.registry import HOOKS
from ..checkpoint import (HISTORY_BUFFER_KEY, NDARRAY_KEY, map_structure,
                          restore_plain_types)
from ..value_markers import encode
from .switchable import SwitchableHook

__all__ = ['WeightsOnlyCheckpointHook', 'to_plain_types']

_LEAVES = (type(None), bool, int, float, str, torch.Size, torch.layout,
           torch.Tensor, torch.nn.Parameter)
_CONTAINERS = (dict, OrderedDict, list, tuple)


def _array_to_tensor(array, path):
    try:
        # a C-contiguous copy: from_numpy refuses negative strides, and the
        # saved tensor must not alias a live array
        return torch.from_numpy(np.array(array, copy=True, order='C'))
    except TypeError as err:
        raise TypeError(
            f'{path}: numpy array of dtype {array.dtype} cannot be stored '
            f'as a tensor ({err}); numeric and bool dtypes are supported'
        ) from None


def _node_to_plain(obj, path, strict):
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {
            HISTORY_BUFFER_KEY: 1,
            'log': _array_to_tensor(log, f'{path}.log'),
            'count': _array_to_tensor(count, f'{path}.count'),
            'max_length': int(obj.max_length)
        }
    if isinstance(obj, np.ndarray):
        return {NDARRAY_KEY: 1, 'data': _array_to_tensor(obj, path)}
    if isinstance(obj, np.generic):
        value = obj.item()  # longdouble & co. stay numpy: refused below
        if not isinstance(value, np.generic):
            return to_plain_types(value, strict, path)
    marker = encode(obj, path,
                    lambda child, p: to_plain_types(child, strict, p))
    if marker is not None:
        return marker
    if type(obj) in _LEAVES or type(obj) in _CONTAINERS:
        return obj
    message = (
        f'{path} is a {type(obj).__module__}.{type(obj).__qualname__}, '
        'which torch.load(weights_only=True) cannot read. Store plain '
        'types (None/bool/int/float/complex/str/bytes, tensors, torch.Size/'
        'dtype/device, dict/OrderedDict/Counter/list/tuple/set/frozenset of '
        'them, numpy arrays/scalars, HistoryBuffer) in that state dict, or '
        'build WeightsOnlyCheckpointHook with strict=False to save it '
        'anyway.')
    if strict:
        raise TypeError(message)
    print_log(
        message + ' Saving it as is: loading this file will need '
        'MMPRELU_ALLOW_UNSAFE_LOAD=1.',
        logger='current',
        level=30)
    return obj


def to_plain_types(obj, strict=True, path='checkpoint'):
    """Return ``obj`` with HistoryBuffers, numpy arrays, numpy scalars and
    the values torch 2.1 refuses converted (see the module docstring);
    ``obj`` itself is not mutated."""
    return map_structure(obj, lambda node, p: _node_to_plain(node, p, strict),
                         path)


@HOOKS.register_module()
class WeightsOnlyCheckpointHook(SwitchableHook):
    """Make every checkpoint the Runner saves loadable with
    ``torch.load(f, weights_only=True)``.

    ``default_hooks.weights_only_checkpoint`` in our configs; elsewhere add
    it with ``custom_hooks=[dict(type='WeightsOnlyCheckpointHook')]``.

    Args:
        strict (bool): raise ``TypeError`` (naming the key path) for a value
            that is neither plain nor convertible; ``False`` only warns and
            saves it as is. Defaults to True.
        enable (bool): ``False`` switches the hook off (stock pickled
            checkpoints). Defaults to True.
    """

    priority = 'LOWEST'

    def __init__(self, strict=True, enable=True):
        super().__init__(enable)
        if not isinstance(strict, bool):
            raise TypeError(f'strict must be a bool, got {strict!r}')
        self.strict = strict

    def before_save_checkpoint(self, runner, checkpoint):
        # rebind the top-level keys: the dict itself is the Runner's
        for key in list(checkpoint):
            checkpoint[key] = to_plain_types(checkpoint[key], self.strict,
                                             f'checkpoint[{key!r}]')

    def after_load_checkpoint(self, runner, checkpoint):
        # no-op for files read by load_checkpoint_safely (already restored)
        for key in list(checkpoint):
            checkpoint[key] = restore_plain_types(checkpoint[key])
