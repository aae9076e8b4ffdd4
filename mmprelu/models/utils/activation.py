"""Parametric rectifier (PReLU), §2.1 of He et al. 2015, and the activation
builder every mmprelu layer uses.

``act_cfg=dict(type='PReLU')`` in any mmprelu model means the paper's
channel-wise PReLU with initial slope 0.25; ``channel_shared=True`` gives the
channel-shared variant (one slope per layer); ``act_cfg=dict(type='ReLU')``
gives the ReLU baseline; any other activation registered in mmpretrain's
``MODELS`` (e.g. ``LeakyReLU``) is built from the registry unchanged.
"""
import copy
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmprelu.compat import is_compiling
from mmprelu.registry import MODELS
from .prelu_function import PReLUFunction, lean_applies

#: Names that :func:`build_activation` treats as the paper's PReLU.
PRELU_TYPES = ('PReLU', 'mmprelu.PReLU', 'mmpretrain.PReLU')

#: Valid values of ``PReLU(impl=...)``.
PRELU_IMPLS = ('lean', 'torch')


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
        impl (str): How it trains (not the paper's subject), fixed when the
            layer is built. ``'lean'`` (default): the autograd function of
            :mod:`~mmprelu.models.utils.prelu_function`, which keeps the
            output as ReLU does (ReLU's saved memory, a vectorised CPU
            backward; float16 slope gradients summed in float32), for the
            inputs it covers (:func:`~.prelu_function.lean_applies`: CPU
            float32/float64 and float16 anywhere, while autograd needs a
            graph); everything else (GPU float32/bfloat16, no grad,
            TorchScript, tracing and ONNX export, ``torch.compile``, meta
            tensors) takes ``F.prelu``. ``'torch'``: always ``F.prelu``; use
            it for second-order gradients or to write a PReLU's output in
            place (the lean function keeps that output, so autograd then
            raises "modified by an inplace operation").
    """

    def __init__(self,
                 num_channels: int,
                 channel_shared: bool = False,
                 init: float = 0.25,
                 impl: str = 'lean') -> None:
        if not isinstance(num_channels, int) or num_channels < 1:
            raise ValueError(
                f'PReLU: num_channels must be a positive int, got '
                f'{num_channels!r}')
        if impl not in PRELU_IMPLS:
            raise ValueError(f'PReLU: unknown impl {impl!r}; valid choices '
                             f'are {PRELU_IMPLS}')
        super().__init__(
            num_parameters=1 if channel_shared else num_channels,
            init=float(init))
        self.channel_shared = bool(channel_shared)
        self.impl = impl

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting() or self.impl == 'torch':
            return F.prelu(input, self.weight)
        return self._forward_eager(input)

    @torch.jit.unused
    def _forward_eager(self, input: torch.Tensor) -> torch.Tensor:
        # what the input is, per call: tracing (ONNX export) and
        # torch.compile need the stock op, whatever the layer's impl
        if (torch.jit.is_tracing() or is_compiling()
                or not lean_applies(input, self.weight)):
            return F.prelu(input, self.weight)
        return PReLUFunction.apply(input, self.weight)

    def extra_repr(self) -> str:
        mode = 'channel-shared' if self.channel_shared else 'channel-wise'
        return (f'{self.num_parameters}, {mode}, init={self.init}, '
                f'impl={self.impl!r}')


def build_activation(act_cfg: Optional[dict], num_channels: int) -> nn.Module:
    """Build the activation that follows a layer with ``num_channels``
    outputs.

    ``type='PReLU'`` builds :class:`PReLU` with the right number of slopes
    for this layer (``num_channels`` unless ``channel_shared=True``), which
    mmcv's ``ConvModule`` cannot do (it builds ``nn.PReLU`` with a single
    shared slope unless told the channel count). Keys: ``channel_shared``
    (default False), ``init`` (default 0.25) and ``impl`` (default
    ``'lean'``, see :class:`PReLU`).
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
        unknown = set(cfg) - {'channel_shared', 'init', 'impl'}
        if unknown:
            raise ValueError(
                f'act_cfg {act_cfg!r}: unknown PReLU keys {sorted(unknown)}; '
                f'valid keys are channel_shared, init, impl, num_parameters')
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
