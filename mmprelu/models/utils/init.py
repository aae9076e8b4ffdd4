"""MSRA ("He") initialization, §2.2 of He et al. 2015, as an mmengine weight
initializer: ``init_cfg=dict(type='MSRA', ...)``.
"""
import math
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model.weight_init import BaseInit, update_init_info

from mmprelu.registry import MMENGINE_WEIGHT_INITIALIZERS, WEIGHT_INITIALIZERS
from .activation import activation_slope

MODES = ('fan_in', 'fan_out', 'avg')
DISTRIBUTIONS = ('normal', 'uniform')
#: the draw is torch's (same std; uniform on +-sqrt(3) std)
_DRAWS = {'normal': nn.init.kaiming_normal_,
          'uniform': nn.init.kaiming_uniform_}
WEIGHT_LAYERS = (nn.modules.conv._ConvNd, nn.Linear)


def msra_fan(weight: torch.Tensor, mode: str) -> float:
    """``n`` of the paper for a conv / linear weight of shape
    ``(d, c, k, k)`` (or ``(d, c)``).

    ``'fan_in'``: ``n = k^2 c`` (Eq. 10, forward case); ``'fan_out'``:
    ``n_hat = k^2 d`` (Eq. 14, backward case, what the paper trained with);
    ``'avg'``: their mean (MXNet's ``MSRAPrelu`` default). For grouped
    convolutions ``c`` is the per-group input count, as in PyTorch.
    """
    if weight.dim() < 2:
        raise ValueError(
            f'MSRA init needs a weight with at least 2 dims, got shape '
            f'{tuple(weight.shape)}')
    receptive = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    fan_in = weight.shape[1] * receptive
    fan_out = weight.shape[0] * receptive
    if mode == 'fan_in':
        return float(fan_in)
    if mode == 'fan_out':
        return float(fan_out)
    if mode == 'avg':
        return (fan_in + fan_out) / 2.0
    raise ValueError(f'MSRA init: unknown mode {mode!r}; valid: {MODES}')


def kaiming_args(weight: torch.Tensor, mode: str = 'fan_out',
                 a: float = 0.0) -> Tuple[str, float]:
    """``(mode, a)`` for torch's ``kaiming_normal_`` / ``kaiming_uniform_``
    (``nonlinearity='leaky_relu'``) that draw with the std of Eq. (15)
    for our ``mode``: ``sqrt(2 / ((1 + a^2) n))``, ``n = msra_fan(weight,
    mode)``.

    torch computes ``gain / sqrt(fan)`` with ``gain = sqrt(2 / (1 + a^2))``
    and knows ``'fan_in'`` (Eq. 10) and ``'fan_out'`` (Eq. 14): those pass
    through. ``'avg'`` has no torch mode: it uses the smaller of the two
    fans, ``n_s <= n_avg``, with the slope ``a'`` that gives the same std,
    ``(1 + a'^2) n_s = (1 + a^2) n_avg`` (``a'^2 >= 0`` because ``n_s`` is
    the smaller fan).
    """
    fan = msra_fan(weight, mode)  # validates mode and shape
    if mode != 'avg':
        return mode, float(a)
    small = min(('fan_in', 'fan_out'), key=lambda m: msra_fan(weight, m))
    n_small = msra_fan(weight, small)
    if n_small == 0:  # a zero-size layer: torch's init is a no-op
        return small, float(a)
    return small, math.sqrt(max((1.0 + a * a) * fan / n_small - 1.0, 0.0))


def msra_std(weight: torch.Tensor, mode: str = 'fan_out',
             a: float = 0.0) -> float:
    """The std that :class:`MSRAInit` draws with: Eq. (15) (and its
    Eq. (14) form), ``std = sqrt(2 / ((1 + a^2) n))``; ``a = 0`` gives
    Eq. (10)/(14) for ReLU, ``a = 1`` the linear case. Computed as torch's
    ``kaiming_normal_`` does (``calculate_gain('leaky_relu', a) /
    sqrt(fan)``) with the arguments of :func:`kaiming_args`, so that the
    formula is torch's alone."""
    kaiming_mode, kaiming_a = kaiming_args(weight, mode, a)
    gain = nn.init.calculate_gain('leaky_relu', kaiming_a)
    return gain / math.sqrt(msra_fan(weight, kaiming_mode))


def following_slopes(module: nn.Module) -> Dict[nn.Module, float]:
    """Map every conv / linear layer in ``module`` to the initial slope of
    the activation that follows it.

    Modules are visited in registration order (the forward order for the
    plain nets of the paper); the first rectifier (ReLU, LeakyReLU, PReLU)
    seen after a weight layer and before the next weight layer is the one
    that follows it. A layer with no rectifier after it (e.g. the last fc)
    gets 0, i.e. plain Eq. (10)/(14) — our choice, the paper is silent.
    """
    slopes: Dict[nn.Module, float] = {}
    pending: Optional[nn.Module] = None
    for m in module.modules():
        if isinstance(m, WEIGHT_LAYERS):
            if pending is not None:
                slopes[pending] = 0.0
            pending = m
            continue
        slope = activation_slope(m)
        if slope is not None and pending is not None:
            slopes[pending] = slope
            pending = None
    if pending is not None:
        slopes[pending] = 0.0
    return slopes


class MSRAInit(BaseInit):
    """MSRA initialization of He et al. 2015, §2.2, Eqs. (10), (14), (15).

    Conv and linear weights are drawn from a zero-mean Gaussian with
    ``std = sqrt(2 / ((1 + a^2) n))``; biases are set to ``bias`` (0, as the
    paper says below Eq. 10). What is ours is the choice of ``n``
    (``mode``, including ``'avg'``) and of ``a`` per layer (``'auto'``);
    the draw itself is torch's ``kaiming_normal_`` (``kaiming_uniform_``
    for ``distribution='uniform'``) with the arguments of
    :func:`kaiming_args`.

    Args:
        mode (str): ``'fan_out'`` (default): ``n_hat = k^2 d``, Eq. (14), the
            form the paper trained with (§3, "we use Eqn.(14)");
            ``'fan_in'``: ``n = k^2 c``, Eq. (10); ``'avg'``: the mean of the
            two (MXNet's ``MSRAPrelu``).
        a (float | str): the negative slope in Eq. (15). ``'auto'``
            (default) reads, for every layer, the *initial* slope of the
            rectifier that follows it (PReLU ``init``, LeakyReLU slope, 0 for
            ReLU; see :func:`following_slopes`). A number applies that slope
            to every layer; ``0`` reproduces plain Eq. (10)/(14). The paper
            does not say whether its PReLU nets used the ``(1 + a^2)``
            factor (a 3% smaller std at a = 0.25); we apply it by default.
        distribution (str): ``'normal'`` (the paper) or ``'uniform'`` (same
            variance, for comparison).
        bias (float): value for biases. Defaults to 0.
        layer (str | list[str]): layer class names to initialize, as in
            mmengine's initializers. Defaults to ``['Conv2d', 'Linear']``.
    """

    def __init__(self,
                 mode: str = 'fan_out',
                 a: Union[float, str] = 'auto',
                 distribution: str = 'normal',
                 **kwargs) -> None:
        kwargs.setdefault('layer', ['Conv2d', 'Linear'])
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(
                f'MSRA init: unknown mode {mode!r}; valid: {MODES}')
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f'MSRA init: unknown distribution '
                             f'{distribution!r}; valid: {DISTRIBUTIONS}')
        if not (a == 'auto' or isinstance(a, (int, float))):
            raise ValueError(
                f"MSRA init: a must be 'auto' or a number, got {a!r}")
        self.mode = mode
        self.a = a
        self.distribution = distribution

    def _selected(self, m: nn.Module) -> bool:
        if not isinstance(m, WEIGHT_LAYERS):
            return False
        if self.wholemodule:
            return True
        names = {cls.__name__ for cls in type(m).__mro__}
        return bool(names & set(self.layer))

    @torch.no_grad()
    def init_layer(self, m: nn.Module, a: float) -> None:
        mode, a = kaiming_args(m.weight, self.mode, a)
        _DRAWS[self.distribution](
            m.weight, a=a, mode=mode, nonlinearity='leaky_relu')
        if getattr(m, 'bias', None) is not None:
            m.bias.fill_(self.bias)

    def __call__(self, module: nn.Module) -> None:
        slopes = following_slopes(module) if self.a == 'auto' else {}
        for m in module.modules():
            if self._selected(m):
                a = slopes.get(m, 0.0) if self.a == 'auto' else float(self.a)
                self.init_layer(m, a)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return (f'{self.__class__.__name__}: mode={self.mode}, a={self.a}, '
                f'distribution={self.distribution}, bias={self.bias}')


# mmpretrain's registry for mmpretrain configs, and mmengine's root registry
# so that a model built under another default scope (mmdet, ...) finds it.
WEIGHT_INITIALIZERS.register_module(name='MSRA', module=MSRAInit)
MMENGINE_WEIGHT_INITIALIZERS.register_module(name='MSRA', module=MSRAInit)
