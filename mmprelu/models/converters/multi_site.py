"""A PReLU for an activation module that a network calls more than once.

mmpretrain's ResNet ``Bottleneck`` owns one ``self.relu`` and calls it three
times (after ``bn1``, after ``bn2`` and after the residual add), on
``planes``, ``planes`` and ``4 * planes`` channels. A ReLU has no
parameters, so sharing it is harmless; a channel-wise PReLU (§2.1, Eq. 1)
learns one slope per channel *of each layer*, so every call site needs its
own slopes, of its own size. :class:`MultiSitePReLU` holds one
:class:`~mmprelu.models.utils.PReLU` per call site (``sites.0``,
``sites.1``, ...) and uses them in call order.
"""
from typing import List, Sequence

import torch
import torch.nn as nn

from ..utils.activation import PReLU

__all__ = ['MultiSitePReLU', 'ResetSiteCounters']


class MultiSitePReLU(nn.Module):
    """``k`` PReLUs used in turn by the ``k`` calls of one forward pass.

    Call ``i`` (counted from the last :meth:`reset`) uses ``sites[i % k]``.
    The counter is reset by :class:`ResetSiteCounters`, a forward pre-hook
    that :func:`~mmprelu.models.converters.convert_relu_to_prelu` puts on
    the module whose forward makes the calls (the ``Bottleneck``), so an
    interrupted forward cannot shift the sites of the next one.

    Checkpointing (mmpretrain's ``with_cp=True``): the recomputation in the
    backward pass replays the first calls of the block's forward; after a
    complete forward the counter is a multiple of ``k``, so the replay
    starts at ``sites[0]`` again and uses the right slopes. This holds when
    each block's forward is followed by its own backward before the block
    runs forward again (ordinary training); two checkpointed forwards of the
    same block before one backward are not supported.

    Args:
        channels (Sequence[int]): channel count (dimension 1 of the input) of
            each call site, in call order.
        channel_shared (bool): one slope per site instead of one per channel.
        init (float): initial slope of every site (0.25 in the paper).
    """

    def __init__(self,
                 channels: Sequence[int],
                 channel_shared: bool = False,
                 init: float = 0.25) -> None:
        super().__init__()
        if len(channels) < 2:
            raise ValueError(
                f'MultiSitePReLU needs at least 2 call sites, got channels='
                f'{list(channels)!r}; use PReLU for a single site')
        self.sites = nn.ModuleList(
            PReLU(int(c), channel_shared=channel_shared, init=init)
            for c in channels)
        self._next = 0

    @property
    def num_sites(self) -> int:
        return len(self.sites)

    def reset(self) -> None:
        """Make the next call use ``sites[0]``."""
        self._next = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = self._next % len(self.sites)
        self._next = (index + 1) % len(self.sites)
        site = self.sites[index]
        if not site.channel_shared and x.dim() >= 2 \
                and x.shape[1] != site.num_parameters:
            raise RuntimeError(
                f'MultiSitePReLU: call site {index} has '
                f'{site.num_parameters} slopes but the input has '
                f'{x.shape[1]} channels; the calls of this module no longer '
                f'follow the order seen when the model was converted')
        return site(x)

    def extra_repr(self) -> str:
        return f'sites={self.num_sites}'


class ResetSiteCounters:
    """Forward pre-hook resetting the call counters of some
    :class:`MultiSitePReLU` modules.

    A callable object rather than a closure, so that ``copy.deepcopy`` of
    the model (e.g. mmengine's EMA) gives the copy a hook that resets the
    copy's modules, and so that the model still pickles.
    """

    def __init__(self, modules: List[MultiSitePReLU]) -> None:
        self.modules = list(modules)

    def __call__(self, module: nn.Module, args) -> None:
        for m in self.modules:
            m.reset()
