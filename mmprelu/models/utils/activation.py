"""Parametric rectifier (PReLU), §2.1 of He et al. 2015, and the activation
builder every mmprelu layer uses.

``act_cfg=dict(type='PReLU')`` in any mmprelu model means the paper's
channel-wise PReLU with initial slope 0.25; ``channel_shared=True`` gives the
channel-shared variant (one slope per layer); ``act_cfg=dict(type='ReLU')``
gives the ReLU baseline; any other activation registered in mmpretrain's
``MODELS`` (e.g. ``LeakyReLU``) is built from the registry unchanged.

Implementation switch: :class:`PReLU` trains through
:func:`~mmprelu.models.utils.prelu_function.fast_prelu` (``impl='fast'``,
the default: the fused C++ CPU kernel of
:mod:`~mmprelu.models.utils.prelu_ext`, built on first use, or the Python
autograd function if it cannot be built; same outputs, ReLU-like speed and
memory), through that Python autograd function only (``impl='python'``,
never compiles anything) or through the stock ``F.prelu``
(``impl='torch'``). Per layer: ``PReLU(c, impl='torch')``
or ``act_cfg=dict(type='PReLU', impl='torch')``; globally, for layers
built without ``impl``: the environment variable
``MMPRELU_PRELU_IMPL=torch``, or :func:`set_prelu_impl` / the
:func:`prelu_impl` context manager, which take precedence over the variable.

The choice is made once, when a layer is built (as timm resolves its
activation layers), never per forward: the global switch applies to layers
built after it is set. An existing model is switched explicitly, with
``prelu_impl(impl, model)`` for a block or :func:`set_model_prelu_impl`.
Per forward only the execution mode is looked at (TorchScript, tracing,
ONNX export, ``torch.compile``), which can change between two calls of
the same layer.
"""
import contextlib
import copy
import os
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmprelu.compat import is_compiling
from mmprelu.registry import MODELS
from .prelu_function import fast_prelu

#: Names that :func:`build_activation` treats as the paper's PReLU.
PRELU_TYPES = ('PReLU', 'mmprelu.PReLU', 'mmpretrain.PReLU')

#: Valid values of ``impl`` / ``MMPRELU_PRELU_IMPL``.
PRELU_IMPLS = ('fast', 'python', 'torch')
#: Environment variable holding the global default implementation.
PRELU_IMPL_ENV = 'MMPRELU_PRELU_IMPL'
_global_impl: Optional[str] = None


def _check_impl(impl, where: str) -> str:
    if impl not in PRELU_IMPLS:
        raise ValueError(f'{where}: unknown PReLU impl {impl!r}; valid '
                         f'choices are {PRELU_IMPLS}')
    return impl


def get_prelu_impl() -> str:
    """The implementation given to :class:`PReLU` layers built now without
    ``impl``: the value set by :func:`set_prelu_impl`, else
    ``$MMPRELU_PRELU_IMPL``, else ``'fast'``."""
    if _global_impl is not None:
        return _global_impl
    env = os.environ.get(PRELU_IMPL_ENV)
    if not env:
        return 'fast'
    return _check_impl(env.strip().lower(), f'${PRELU_IMPL_ENV}')


def set_prelu_impl(impl: Optional[str]) -> Optional[str]:
    """Set the global default for layers built from now on (one of
    :data:`PRELU_IMPLS`; ``None`` goes back to the environment variable).
    Returns the previous setting. Layers that exist keep theirs: see
    :func:`set_model_prelu_impl`."""
    global _global_impl
    previous = _global_impl
    _global_impl = None if impl is None else _check_impl(
        impl, 'set_prelu_impl')
    return previous


def set_model_prelu_impl(model: nn.Module, impl: str) -> dict:
    """Switch every :class:`PReLU` of an existing ``model`` to ``impl``.
    Returns ``{module name: previous impl}``, which
    :func:`restore_model_prelu_impl` puts back."""
    _check_impl(impl, 'set_model_prelu_impl')
    previous = {}
    for name, module in model.named_modules():
        if isinstance(module, PReLU):
            previous[name] = module.impl
            module.impl = impl
    return previous


def restore_model_prelu_impl(model: nn.Module, previous: dict) -> None:
    """Undo :func:`set_model_prelu_impl` (``previous`` is what it returned)."""
    modules = dict(model.named_modules())
    for name, impl in previous.items():
        modules[name].impl = impl


@contextlib.contextmanager
def prelu_impl(impl: str, model: Optional[nn.Module] = None):
    """``with prelu_impl('torch'): ...`` runs the block with that global
    default (for layers built in the block) and restores the previous one
    afterwards; ``prelu_impl('torch', model)`` also switches the layers of
    an existing ``model`` for the block."""
    previous = set_prelu_impl(impl)
    layers = {} if model is None else set_model_prelu_impl(model, impl)
    try:
        yield
    finally:
        set_prelu_impl(previous)
        if model is not None:
            restore_model_prelu_impl(model, layers)


class PReLU(nn.PReLU):
    """PReLU of Eq. (1): ``f(y_i) = max(0, y_i) + a_i * min(0, y_i)``.

    A subclass of :class:`torch.nn.PReLU` (same forward, same state-dict key
    ``weight``), so code that finds slopes by module type, such as
    :class:`~mmprelu.engine.PReLUOptimWrapperConstructor`, sees both.

    Args:
        num_channels (int): Channels of the input (dimension 1).
        channel_shared (bool): ``False`` (default, the Eq. (1) form used for
            Table 4) learns one slope per channel; ``True`` learns one slope
            for the whole layer (Table 2, "channel-shared").
        init (float): Initial slope ``a``; the paper uses 0.25 throughout
            (§2.1). MSRA init (Eq. 15) reads it from :attr:`init`.
        impl (str, optional): ``'fast'`` (the fused kernel, else the
            Python autograd function; see
            :mod:`~mmprelu.models.utils.prelu_function`), ``'python'``
            (the Python autograd function) or ``'torch'`` (``F.prelu``).
            ``None`` (default) takes the global switch
            (:func:`get_prelu_impl`) now, at build time. TorchScript,
            tracing, ONNX export, ``torch.compile`` and GPU tensors always
            use ``F.prelu``, except that float16 inputs (fp16 ``--amp``)
            sum the slope gradient in float32 (:mod:`.prelu_half`) unless
            ``impl='torch'``.
        inplace (bool): Let the fused kernel write the output over the input
            where that is safe (see :func:`fast_prelu`); like
            ``nn.ReLU(inplace=True)``, only for inputs nothing else needs.
            Default False (on CPU it measured within noise of the default
            in a PReLU-net training step).
    """

    # TorchScript would compile the property; its forward never reads it
    __jit_unused_properties__ = ['impl']

    def __init__(self,
                 num_channels: int,
                 channel_shared: bool = False,
                 init: float = 0.25,
                 impl: Optional[str] = None,
                 inplace: bool = False) -> None:
        if not isinstance(num_channels, int) or num_channels < 1:
            raise ValueError(
                f'PReLU: num_channels must be a positive int, got '
                f'{num_channels!r}')
        super().__init__(
            num_parameters=1 if channel_shared else num_channels,
            init=float(init))
        self.channel_shared = bool(channel_shared)
        self.impl = get_prelu_impl() if impl is None else _check_impl(
            impl, 'PReLU')
        self.inplace = bool(inplace)

    @property
    def impl(self) -> str:
        """The implementation of this layer (one of :data:`PRELU_IMPLS`)."""
        return self._impl

    @impl.setter
    def impl(self, impl: str) -> None:
        # resolved here, once per change, so that forward only branches on
        # two booleans
        self._impl = _check_impl(impl, 'PReLU.impl')
        self._stock = impl == 'torch'
        self._fused = impl == 'fast'

    def __setstate__(self, state):
        # layers pickled whole before the impl was resolved at build time
        # hold ``impl`` (None: follow the global switch) in their __dict__
        impl = state.pop('impl', None)
        super().__setstate__(state)
        if '_impl' not in state:
            self.impl = get_prelu_impl() if impl is None else impl

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting():
            return F.prelu(input, self.weight)
        return self._forward_eager(input)

    @torch.jit.unused
    def _forward_eager(self, input: torch.Tensor) -> torch.Tensor:
        if (self._stock or torch.jit.is_tracing()
                or torch.onnx.is_in_onnx_export()
                or is_compiling()):
            return F.prelu(input, self.weight)
        return fast_prelu(input, self.weight, inplace=self.inplace,
                          fused=self._fused)

    def extra_repr(self) -> str:
        mode = 'channel-shared' if self.channel_shared else 'channel-wise'
        impl = f', impl={self.impl!r}'
        inplace = ', inplace=True' if self.inplace else ''
        return (f'{self.num_parameters}, {mode}, init={self.init}'
                f'{impl}{inplace}')


def build_activation(act_cfg: Optional[dict],
                     num_channels: int) -> nn.Module:
    """Build the activation that follows a layer with ``num_channels``
    outputs.

    ``type='PReLU'`` builds :class:`PReLU` with the right number of slopes
    for this layer (``num_channels`` unless ``channel_shared=True``), which
    mmcv's ``ConvModule`` cannot do (it builds ``nn.PReLU`` with a single
    shared slope unless told the channel count). Keys: ``channel_shared``
    (default False), ``init`` (default 0.25), ``impl`` (default: the
    global switch, see :class:`PReLU`) and ``inplace`` (default False).
    ``num_parameters`` is accepted for compatibility with ``nn.PReLU``
    configs when it is 1 or ``num_channels``.

    Any other type is built from mmpretrain's ``MODELS`` registry; ``ReLU``
    defaults to ``inplace=True``. ``None`` means identity.
    """
    if act_cfg is None:
        return nn.Identity()
    if not isinstance(act_cfg, dict) or 'type' not in act_cfg:
        raise TypeError(
            f'act_cfg must be a dict with a "type" key (e.g. '
            f'dict(type="PReLU") or dict(type="ReLU")) or None, got '
            f'{act_cfg!r}')
    cfg = copy.deepcopy(act_cfg)
    act_type = cfg.pop('type')
    if act_type in PRELU_TYPES or act_type is nn.PReLU or act_type is PReLU:
        num_parameters = cfg.pop('num_parameters', None)
        if num_parameters is not None:
            if num_parameters not in (1, num_channels):
                raise ValueError(
                    f'act_cfg {act_cfg!r}: num_parameters must be 1 '
                    f'(channel-shared) or {num_channels} (channel-wise) for '
                    f'a layer with {num_channels} channels; prefer '
                    f'channel_shared=True/False')
            cfg.setdefault('channel_shared', num_parameters == 1)
        unknown = set(cfg) - {'channel_shared', 'init', 'impl', 'inplace'}
        if unknown:
            raise ValueError(
                f'act_cfg {act_cfg!r}: unknown PReLU keys {sorted(unknown)}; '
                f'valid keys are channel_shared, init, impl, inplace, '
                f'num_parameters')
        return PReLU(num_channels, **cfg)
    if act_type in ('ReLU', nn.ReLU):
        cfg.setdefault('inplace', True)
    cfg['type'] = act_type
    return MODELS.build(cfg)


def activation_slope(module: nn.Module) -> Optional[float]:
    """The negative slope an activation module starts with, or ``None`` if
    ``module`` is not a rectifier.

    Used by MSRA init (Eq. 15: ``a`` is "the initialized value of the
    coefficients"): PReLU -> its ``init`` value, LeakyReLU -> its
    ``negative_slope``, ReLU -> 0.
    """
    if isinstance(module, nn.PReLU):
        return float(module.init)
    if isinstance(module, nn.LeakyReLU):
        return float(module.negative_slope)
    if isinstance(module, (nn.ReLU, nn.ReLU6)):
        return 0.0
    return None
