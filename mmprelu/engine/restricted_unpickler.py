"""Weights-only unpickling for torch < 2.5, which has no allowlist API.

torch 2.1-2.4 has ``torch.load(weights_only=True)`` with a fixed allowlist
that cannot be extended (``torch.serialization.safe_globals`` /
``get_safe_globals`` arrived in 2.5), and refuses ``pickle_module`` together
with ``weights_only=True``. So on those versions
:mod:`mmprelu.engine.checkpoint` calls ``torch.load(f, weights_only=False,
pickle_module=restricted_pickle(extra))``: torch reads the file as usual,
but every global the pickle names is resolved by
:meth:`RestrictedUnpickler.find_class`, which returns only

* what torch itself writes for tensors, parameters, sizes, dtypes, devices
  and layouts (:data:`TORCH_GLOBALS`: the tensor names torch 2.1-2.4's own
  weights-only unpickler allows, resolved by name through pickle, so no
  private torch function is imported here), plus
  ``collections.OrderedDict``/``Counter``, ``set``/``frozenset``/
  ``complex``/``bytearray`` and ``_codecs.encode`` (how protocol 2 writes
  bytes);
* the data-only extras of :func:`mmprelu.engine.checkpoint._safe_globals`
  (numpy arrays and scalars, the ``HistoryBuffer`` stand-in).

Anything else -- ``os.system``, ``builtins.eval``, any class of the user's --
raises :class:`pickle.UnpicklingError` naming it, before it is called.
Pickle reaches callables only through ``find_class`` (``GLOBAL``,
``STACK_GLOBAL``, ``INST``/``OBJ`` and the copyreg extension codes), so every
object the file builds is made by an allowed callable. torch's own
unpickler also checks the type of every object a ``BUILD`` updates, which
plain pickle does not: the one place this matters for the extras is
numpy's dtype, so ``numpy.dtype`` resolves to :func:`numeric_dtype`, which
refuses object, string, datetime and structured dtypes as torch's check
does. Refused although newer torch allows them: quantized and nested
tensors and other exotic tensor types (mmengine and mmpretrain checkpoints
hold none).
"""
import pickle
from typing import Dict, Iterable

import numpy as np
import torch

__all__ = [
    'TORCH_GLOBALS', 'RestrictedUnpickler', 'restricted_pickle',
    'numeric_dtype'
]

#: ``module.name`` of the globals torch writes for tensors and their
#: containers (the allowlist of torch's own weights-only unpickler), and
#: the plain builtins a checkpoint may hold.
TORCH_GLOBALS = frozenset([
    'collections.OrderedDict',
    'collections.Counter',
    'builtins.set',
    'builtins.frozenset',
    'builtins.complex',
    'builtins.bytearray',
    '_codecs.encode',
    'torch.Size',
    'torch.Tensor',
    'torch.device',
    'torch.nn.parameter.Parameter',
    'torch._utils._rebuild_tensor',
    'torch._utils._rebuild_tensor_v2',
    'torch._utils._rebuild_parameter',
    'torch._utils._rebuild_parameter_with_state',
    'torch._utils._rebuild_sparse_tensor',
    'torch._utils._rebuild_meta_tensor_no_storage',
    'torch._tensor._rebuild_from_type_v2',
    'torch.serialization._get_layout',
    'torch.UntypedStorage',
    'torch.storage.UntypedStorage',
])
#: Python 2 module names that protocol-2 pickles (torch's default) use;
#: pickle maps them the same way before importing.
_PY2_MODULES = {'__builtin__': 'builtins', 'copy_reg': 'copyreg'}
#: Types of the ``torch.<name>`` constants allowed as globals
#: (``torch.float32``, ``torch.strided``, ``torch.channels_last``).
_TORCH_CONSTANTS = (torch.dtype, torch.layout, torch.memory_format)


def numeric_dtype(*args, **kwargs) -> np.dtype:
    """``numpy.dtype(...)`` for bool and numeric kinds only."""
    dtype = np.dtype(*args, **kwargs)
    if dtype.kind not in 'biufc':
        raise pickle.UnpicklingError(
            f'numpy dtype {dtype} ({type(dtype)!r}) is not allowed '
            f'by the weights-only unpickler: only bool and numeric dtypes')
    return dtype


#: Stand-ins resolved instead of an allowed global (see the module doc).
_REPLACEMENTS = {'numpy.dtype': numeric_dtype}


def _name_of(obj) -> str:
    return f'{obj.__module__}.{obj.__name__}'


class RestrictedUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` that resolves only allowed globals.

    ``extra`` (class attribute, set by :func:`restricted_pickle`) maps
    ``module.name`` to the object to return for it.
    """

    extra: Dict[str, object] = {}

    def find_class(self, module, name):
        module = _PY2_MODULES.get(module, module)
        key = f'{module}.{name}'
        if key in self.extra:
            return self.extra[key]
        if key in TORCH_GLOBALS:
            return super().find_class(module, name)
        if module == 'torch' and isinstance(
                getattr(torch, name, None), _TORCH_CONSTANTS):
            return getattr(torch, name)
        raise pickle.UnpicklingError(
            f'Unsupported global: GLOBAL {key} is not allowed by '
            f"mmprelu's weights-only unpickler (torch {torch.__version__} "
            f'has no weights-only allowlist API)')


class _PickleModule:
    """The ``pickle_module`` interface ``torch.load`` uses: ``Unpickler``,
    ``load`` (legacy files read their header with it) and ``__name__``."""

    __name__ = 'mmprelu_restricted_pickle'

    def __init__(self, unpickler: type) -> None:
        self.Unpickler = unpickler

    def load(self, file, **kwargs):
        return self.Unpickler(file, **kwargs).load()


def restricted_pickle(extra: Iterable = ()) -> _PickleModule:
    """A ``pickle_module`` for ``torch.load(..., weights_only=False)`` that
    refuses every global but :data:`TORCH_GLOBALS` and ``extra``.

    Args:
        extra: objects, or ``(object, 'module.name')`` pairs, to allow in
            addition (the format of ``torch.serialization.safe_globals``).
    """
    allowed = {}
    for item in extra:
        obj, key = item if isinstance(item, tuple) else (item, _name_of(item))
        allowed[key] = _REPLACEMENTS.get(key, obj)
    unpickler = type('RestrictedUnpickler', (RestrictedUnpickler, ),
                     {'extra': allowed})
    return _PickleModule(unpickler)
