"""Supported environments and the one place for version switches.

mmprelu is a plugin: it runs in the environment its user already trains in.
:data:`SUPPORTED` is the tested range (the same as ``setup.py``,
``requirements/``, the README and docs/environments.md; CI runs both
ends). ``import mmprelu`` calls :func:`check_environment` first: outside
that range it warns once, naming the versions found and tested, and goes
on (mmpretrain and mmcv enforce the ranges they need themselves, as
OpenMMLab packages do). The check only reads versions.

Every switch below is decided once, when this module is imported; code
elsewhere calls the chosen function and never tests a version itself:

* :func:`is_compiling` -- ``torch.compiler.is_compiling`` (torch >= 2.3),
  else torch 2.1/2.2's ``torch._utils.is_compiling`` (the function dynamo
  of those versions treats as ``True`` while tracing), else a constant
  ``False``.
* :func:`onnx_export` -- ``torch.onnx.export`` with the TorchScript-based
  exporter: torch >= 2.5 takes ``dynamo=False`` (and from 2.9 defaults to
  the dynamo exporter), older torch has no ``dynamo`` argument and only
  that exporter. Decided on the first export (importing ``torch.onnx``
  at ``import mmprelu`` would cost every user time).
* :func:`flop_counter_mode` -- ``torch.utils.flop_counter.FlopCounterMode``
  with per-module counts: newer torch tracks modules itself (with
  ``torch.utils.module_tracker``; passing ``mods`` only warns), torch 2.1
  counts per module only for the ``mods`` it is given. Decided on first use.
* :data:`HAS_WEIGHTS_ONLY_ALLOWLIST` -- torch >= 2.5 has
  ``torch.serialization.safe_globals`` / ``get_safe_globals``; older torch
  has ``weights_only=True`` with a fixed allowlist only, so
  :mod:`mmprelu.engine.checkpoint` loads through its own restricted
  unpickler there (:mod:`mmprelu.engine.restricted_unpickler`).
* :func:`autocast_dtype` -- the dtype ``torch.autocast`` casts matmuls to
  on a device type: torch >= 2.4 asks per device type
  (``torch.get_autocast_dtype``); older torch has only the CPU and CUDA
  functions (:mod:`mmprelu.models.utils.dense` and
  :mod:`mmprelu.models.utils.prelu_function` use it).
* :data:`DIST_ERRORS` -- the classes ``torch.distributed`` raises its own
  errors as: ``DistError`` (the base of ``DistBackendError``,
  ``DistNetworkError`` and ``DistStoreError``; newer torch); torch 2.1 has
  ``DistBackendError`` only (its store and network errors are plain
  ``RuntimeError``). :mod:`mmprelu.apis.elastic` uses it.
* :func:`torch_keys_restart_rounds_apart` -- whether torch's ``env://``
  rendezvous already keys every torchrun restart round apart on the
  agent's shared store (torch 2.1: ``/worker/attempt_<n>/``). The torch
  change that dropped that prefix (when torchrun began sharing its
  rendezvous store with the workers) also gave the public
  ``torch.distributed.elastic.rendezvous.RendezvousHandler`` its
  ``use_agent_store`` property, so the property's absence is the feature
  test. Decided on first use (importing torch.distributed.elastic at
  ``import mmprelu`` would cost every user time); a test in
  tests/test_apis/test_elastic.py checks it against torch's behaviour.

To add a switch: one module-level name here, computed at import with a
public API first and, where only a private one exists on some versions, a
guarded fallback plus a test in tests/test_compat.py that fails when that
private name disappears.
"""
import functools
import inspect
import re
import sys
import warnings

__all__ = [
    'SUPPORTED', 'check_environment', 'found_versions', 'is_compiling',
    'onnx_export', 'flop_counter_mode', 'autocast_dtype',
    'HAS_WEIGHTS_ONLY_ALLOWLIST', 'DIST_ERRORS',
    'torch_keys_restart_rounds_apart'
]

#: Tested range: package -> (lowest, highest) (major, minor), inclusive.
#: ``mmcv`` means mmcv or mmcv-lite (both install the ``mmcv`` package).
SUPPORTED = {
    'python': ((3, 9), (3, 12)),
    'torch': ((2, 1), (2, 14)),
    'numpy': ((1, 26), (2, 99)),
    'mmcv': ((2, 1), (2, 2)),
    'mmengine': ((0, 10), (0, 10)),
    'mmpretrain': ((1, 2), (1, 2)),
}


def _major_minor(version: str) -> tuple:
    """``'2.1.2+cu121'`` -> ``(2, 1)``; ``()`` if it has no number."""
    return tuple(int(p) for p in re.findall(r'\d+', version)[:2])


def _span(name: str) -> str:
    low, high = SUPPORTED[name]
    if name == 'numpy':
        return f'{low[0]}.{low[1]}-{high[0]}.x'
    if low == high:
        return f'{low[0]}.{low[1]}.x'
    return f'{low[0]}.{low[1]}-{high[0]}.{high[1]}'


#: Distributions that install each checked package.
_DISTRIBUTIONS = {
    'torch': ('torch', ),
    'numpy': ('numpy', ),
    'mmcv': ('mmcv', 'mmcv-lite'),
    'mmengine': ('mmengine', ),
    'mmpretrain': ('mmpretrain', )
}


def _version_of(name: str):
    """The installed version of package ``name``, without importing it
    when it is not imported yet (``import mmpretrain`` itself asserts on
    the mmcv version, with a less helpful message); ``None`` if absent."""
    module = sys.modules.get(name)
    if module is not None and hasattr(module, '__version__'):
        return str(module.__version__)
    from importlib import metadata
    for dist in _DISTRIBUTIONS[name]:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    try:  # installed without metadata (e.g. a source tree on the path)
        return str(__import__(name).__version__)
    except Exception:  # noqa: BLE001 - absent or broken: reported as absent
        return None


def found_versions() -> dict:
    """``{package: version string}`` of the running environment (``None``
    for a package that is not installed)."""
    found = {'python': '%d.%d.%d' % sys.version_info[:3]}
    for name in _DISTRIBUTIONS:
        found[name] = _version_of(name)
    return found


def check_environment(found: dict = None) -> list:
    """Warn once when an installed package of :data:`SUPPORTED` is outside
    the tested range; never raise (a missing package fails at its own
    import, with its own message).

    Args:
        found: ``{package: version}``; default :func:`found_versions`.

    Returns:
        list[str]: the packages outside the range, as named in the warning.
    """
    found = found_versions() if found is None else found
    outside = []
    for name, (low, high) in SUPPORTED.items():
        version = found.get(name)
        if version is not None and not (low <= _major_minor(version) <= high):
            outside.append(f'{name} {version} (tested: {_span(name)})')
    if outside:
        warnings.warn(
            f'mmprelu is untested with {"; ".join(outside)}. It goes on; if '
            f'something fails, report it with these versions. Found: ' +
            ', '.join(f'{k} {v}' for k, v in found.items()) + '. Tested: ' +
            ', '.join(f'{k} {_span(k)}' for k in SUPPORTED) +
            ' (mmcv: full mmcv or mmcv-lite; docs/environments.md).',
            UserWarning,
            stacklevel=2)
    return outside


# ----------------------------------------------------------------------
# Version switches (decided here, once).

try:
    import torch
except ImportError:  # mmprelu's next import of torch names it
    torch = None


def _pick_is_compiling():
    public = getattr(getattr(torch, 'compiler', None), 'is_compiling', None)
    if public is not None:  # torch >= 2.3
        return public
    # torch 2.1/2.2: dynamo's config lists torch._utils.is_compiling as a
    # function it constant-folds to True while tracing (guarded: private).
    private = getattr(getattr(torch, '_utils', None), 'is_compiling', None)
    if private is not None:
        return private
    return lambda: False


#: ``True`` while ``torch.compile`` traces the caller (see the module doc).
is_compiling = _pick_is_compiling()

#: torch >= 2.5: ``torch.serialization.safe_globals`` and
#: ``get_safe_globals`` exist (weights-only loading with an allowlist).
HAS_WEIGHTS_ONLY_ALLOWLIST = torch is not None and all(
    hasattr(torch.serialization, name)
    for name in ('safe_globals', 'get_safe_globals'))


def _autocast_dtype(device_type: str):
    """The dtype autocast casts matmuls to on ``device_type``, or ``None``
    where autocast is off (or does not exist, e.g. ``meta``)."""
    if (not torch.amp.is_autocast_available(device_type)
            or not torch.is_autocast_enabled(device_type)):
        return None
    return torch.get_autocast_dtype(device_type)


def _legacy_autocast_dtype(device_type: str):
    """:func:`_autocast_dtype` for torch < 2.4 (CPU and CUDA only)."""
    if device_type == 'cpu' and torch.is_autocast_cpu_enabled():
        return torch.get_autocast_cpu_dtype()
    if device_type == 'cuda' and torch.is_autocast_enabled():
        return torch.get_autocast_gpu_dtype()
    return None


#: ``autocast_dtype(device_type)``: ``torch.dtype`` or ``None`` (see the
#: module doc).
autocast_dtype = (
    _autocast_dtype
    if hasattr(torch, 'get_autocast_dtype') else _legacy_autocast_dtype)


@functools.lru_cache(maxsize=None)
def _onnx_export_kwargs() -> tuple:
    params = inspect.signature(torch.onnx.export).parameters
    return (('dynamo', False), ) if 'dynamo' in params else ()


def onnx_export(*args, **kwargs):
    """``torch.onnx.export(*args, **kwargs)`` with the TorchScript-based
    exporter on every supported torch (see the module doc)."""
    return torch.onnx.export(*args, **dict(_onnx_export_kwargs()), **kwargs)


@functools.lru_cache(maxsize=None)
def _flop_counter_needs_mods() -> bool:
    from importlib.util import find_spec
    return find_spec('torch.utils.module_tracker') is None


def flop_counter_mode(model, **kwargs):
    """A ``FlopCounterMode(**kwargs)`` whose ``get_flop_counts()`` has one
    entry per submodule of ``model`` (keys ``'<ClassName>.<name>'``) on
    every supported torch (see the module doc)."""
    from torch.utils.flop_counter import FlopCounterMode
    if _flop_counter_needs_mods():
        kwargs['mods'] = model
    return FlopCounterMode(**kwargs)


def _dist_errors() -> tuple:
    dist = getattr(torch, 'distributed', None)
    for name in ('DistError', 'DistBackendError'):  # newer torch; torch 2.1
        error = getattr(dist, name, None)
        if error is not None:
            return (error, )
    return ()


#: ``isinstance(err, DIST_ERRORS)``: ``err`` is torch.distributed's own
#: (see the module doc; ``()`` without torch.distributed).
DIST_ERRORS = _dist_errors() if torch is not None else ()


@functools.lru_cache(maxsize=None)
def torch_keys_restart_rounds_apart() -> bool:
    """``True`` where ``init_process_group('env://')`` under torchrun's
    agent store already prefixes its keys per restart round (see the
    module doc)."""
    from torch.distributed.elastic.rendezvous import RendezvousHandler
    return not hasattr(RendezvousHandler, 'use_agent_store')
