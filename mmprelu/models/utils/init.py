"""MSRA ("He") initialization, §2.2 of He et al. 2015, as an mmengine weight
initializer: ``init_cfg=dict(type='MSRA', ...)``.
"""
import math
from typing import Dict, Optional, Union

import torch
import torch.nn as nn
from mmengine.model.weight_init import BaseInit, update_init_info

from mmprelu.registry import MMENGINE_WEIGHT_INITIALIZERS, WEIGHT_INITIALIZERS
from .activation import activation_slope

MODES = ('fan_in', 'fan_out', 'avg')
DISTRIBUTIONS = ('normal', 'uniform')
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


def msra_std(weight: torch.Tensor, mode: str = 'fan_out',
             a: float = 0.0) -> float:
    """Eq. (15) (and its Eq. (14) form): ``std = sqrt(2 / ((1 + a^2) n))``.

    ``a = 0`` gives Eq. (10)/(14) for ReLU; ``a = 1`` the linear case.
    """
    return math.sqrt(2.0 / ((1.0 + a * a) * msra_fan(weight, mode)))


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
    paper says below Eq. 10).

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
        std = msra_std(m.weight, self.mode, a)
        if self.distribution == 'normal':
            m.weight.normal_(0.0, std)
        else:
            bound = math.sqrt(3.0) * std
            m.weight.uniform_(-bound, bound)
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
