"""MSRA ("He") initialization, §2.2 of He et al. 2015, as an mmengine weight
initializer: ``init_cfg=dict(type='MSRA', ...)``.
"""
import math
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.model import KaimingInit, kaiming_init, update_init_info

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
    fans = {
        'fan_in': fan_in,
        'fan_out': fan_out,
        'avg': (fan_in + fan_out) / 2.0
    }
    if mode not in fans:
        raise ValueError(f'MSRA init: unknown mode {mode!r}; valid: {MODES}')
    return float(fans[mode])


def msra_std(weight: torch.Tensor,
             mode: str = 'fan_out',
             a: float = 0.0) -> float:
    """The std :class:`MSRAInit` draws with: Eq. (15) (and its Eq. (14)
    form), ``std = sqrt(2 / ((1 + a^2) n))``; ``a = 0`` gives Eq. (10)/(14)
    for ReLU, ``a = 1`` the linear case. The gain is torch's
    (``calculate_gain('leaky_relu', a)``)."""
    return nn.init.calculate_gain('leaky_relu', a) / math.sqrt(
        msra_fan(weight, mode))


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


class MSRAInit(KaimingInit):
    """MSRA initialization of He et al. 2015, §2.2, Eqs. (10), (14), (15):
    mmengine's ``KaimingInit`` (same arguments, same meaning; the draw is
    torch's ``kaiming_normal_`` / ``kaiming_uniform_``) plus what the paper
    adds: the slope ``a`` of Eq. (15) read per layer (``a='auto'``) and
    ``mode='avg'``.

    Conv and linear weights get ``std = gain / sqrt(n)``; with the default
    ``nonlinearity='leaky_relu'`` the gain is ``sqrt(2 / (1 + a^2))``, so
    ``std = sqrt(2 / ((1 + a^2) n))`` (Eq. 15); biases are set to ``bias``
    (0, as the paper says below Eq. 10).

    Args:
        a (float | str): the negative slope in Eq. (15). ``'auto'``
            (default) reads, for every layer, the *initial* slope of the
            rectifier that follows it (PReLU ``init``, LeakyReLU slope, 0 for
            ReLU; see :func:`following_slopes`). A number applies that slope
            to every layer; ``0`` reproduces plain Eq. (10)/(14). The paper
            does not say whether its PReLU nets used the ``(1 + a^2)``
            factor (a 3% smaller std at a = 0.25); we apply it by default.
        mode (str): ``'fan_out'`` (default): ``n_hat = k^2 d``, Eq. (14), the
            form the paper trained with (§3, "we use Eqn.(14)");
            ``'fan_in'``: ``n = k^2 c``, Eq. (10); ``'avg'``: the mean of the
            two (MXNet's ``MSRAPrelu``), drawn as ``'fan_in'`` and rescaled.
        nonlinearity (str): as in ``KaimingInit``; default ``'leaky_relu'``
            (``KaimingInit``: ``'relu'``, which ignores ``a``).
        distribution (str): ``'normal'`` (the paper) or ``'uniform'`` (same
            variance, for comparison).
        bias (float): value for biases. Defaults to 0.
        layer (str | list[str]): layer class names (or base class names) to
            initialize. Defaults to ``['Conv2d', 'Linear']`` (mmengine's
            initializers touch nothing without ``layer``; an MSRA init_cfg
            without it meant the conv and fc layers).
    """

    def __init__(self,
                 a='auto',
                 mode: str = 'fan_out',
                 nonlinearity: str = 'leaky_relu',
                 distribution: str = 'normal',
                 **kwargs) -> None:
        if mode not in MODES:
            raise ValueError(
                f'MSRA init: unknown mode {mode!r}; valid: {MODES}')
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f'MSRA init: unknown distribution '
                             f'{distribution!r}; valid: {DISTRIBUTIONS}')
        if not (a == 'auto' or isinstance(a, (int, float))):
            raise ValueError(
                f"MSRA init: a must be 'auto' or a number, got {a!r}")
        kwargs.setdefault('layer', ['Conv2d', 'Linear'])
        super().__init__(
            a=a,
            mode=mode,
            nonlinearity=nonlinearity,
            distribution=distribution,
            **kwargs)

    def _selected(self, m: nn.Module) -> bool:
        if not isinstance(m, WEIGHT_LAYERS):
            return False
        names = {cls.__name__ for cls in type(m).__mro__}
        return self.wholemodule or bool(names & set(self.layer))

    @torch.no_grad()
    def init_layer(self, m: nn.Module, a: float) -> None:
        """Draw ``m``'s weight with slope ``a`` and set its bias."""
        mode = 'fan_in' if self.mode == 'avg' else self.mode
        kaiming_init(m, a, mode, self.nonlinearity, self.bias,
                     self.distribution)
        if self.mode == 'avg' and m.weight.numel():
            m.weight.mul_(
                math.sqrt(
                    msra_fan(m.weight, 'fan_in') / msra_fan(m.weight, 'avg')))

    def __call__(self, module: nn.Module) -> None:
        slopes = following_slopes(module) if self.a == 'auto' else {}
        for m in module.modules():
            if self._selected(m):
                self.init_layer(
                    m,
                    slopes.get(m, 0.0) if self.a == 'auto' else float(self.a))
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())


# mmpretrain's registry for mmpretrain configs, and mmengine's root registry
# so that a model built under another default scope (mmdet, ...) finds it.
WEIGHT_INITIALIZERS.register_module(name='MSRA', module=MSRAInit)
MMENGINE_WEIGHT_INITIALIZERS.register_module(name='MSRA', module=MSRAInit)
