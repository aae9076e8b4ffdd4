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
import warnings
from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from ..utils.activation import PReLU

__all__ = ['MultiSitePReLU', 'ResetSiteCounters', 'register_site_resets']


class MultiSitePReLU(nn.Module):
    """``k`` PReLUs used in turn by the ``k`` calls of one forward pass.

    Call ``i`` (counted from the last :meth:`reset`) uses ``sites[i % k]``.
    The count belongs to one forward of the module that makes the calls
    (the ``Bottleneck``, the *owner*): :func:`register_site_resets` (which
    :func:`~mmprelu.models.converters.convert_relu_to_prelu` calls) resets
    it when the owner's forward starts and again when it ends -- also when
    it ends with an exception -- so neither an interrupted forward nor a
    forward that makes fewer calls (skips a site) can shift the sites of
    the next one. Within one forward the calls are matched to the sites in
    order; a call whose channel count does not fit its site raises, and a
    completed owner forward with a call count other than 0 or ``k`` warns
    once (the network no longer calls the module as it did when it was
    converted).

    Checkpointing (mmpretrain's ``with_cp=True``): the recomputation in the
    backward pass replays the calls of the block's forward after that
    forward has ended, so the replay starts at ``sites[0]`` and uses the
    right slopes.

    Used on its own (not through the converter), call :meth:`reset` at the
    start of the owner's forward, or use :func:`register_site_resets`.

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
        self._next = 0  # calls since the last reset
        self._warned = False

    @property
    def num_sites(self) -> int:
        return len(self.sites)

    def reset(self) -> None:
        """Make the next call use ``sites[0]``."""
        self._next = 0

    def check_calls(self, name: str) -> None:
        """Warn (once) if the calls since the last reset were neither none
        nor exactly one per site: called by the owner's forward hook after
        a completed forward."""
        if self._warned or self._next in (0, self.num_sites):
            return
        self._warned = True
        warnings.warn(
            f'MultiSitePReLU {name}: one forward of its owner made '
            f'{self._next} calls, but it was converted for '
            f'{self.num_sites} (one per site); the calls were matched to '
            f'sites 0, 1, ... in order, which is right only if the missing '
            f'calls were the last ones. Counting restarts at the next '
            f'forward.',
            stacklevel=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = self._next % len(self.sites)
        site = self.sites[index]
        if not site.channel_shared and x.dim() >= 2 \
                and x.shape[1] != site.num_parameters:
            raise RuntimeError(
                f'MultiSitePReLU: call site {index} has '
                f'{site.num_parameters} slopes but the input has '
                f'{x.shape[1]} channels; the calls of this module no longer '
                f'follow the order seen when the model was converted')
        self._next += 1
        return site(x)

    def extra_repr(self) -> str:
        return f'sites={self.num_sites}'


class ResetSiteCounters:
    """Forward pre-hook and forward hook resetting the call counters of some
    :class:`MultiSitePReLU` modules (see :func:`register_site_resets`).

    A callable object rather than a closure, so that ``copy.deepcopy`` of
    the model (e.g. mmengine's EMA) gives the copy a hook that resets the
    copy's modules, and so that the model still pickles.
    """

    def __init__(self,
                 modules: List[MultiSitePReLU],
                 names: Optional[List[str]] = None) -> None:
        self.modules = list(modules)
        self.names = list(names) if names is not None else [
            f'#{i}' for i in range(len(self.modules))
        ]

    def __call__(self, module: nn.Module, args, *output) -> None:
        # as a forward hook: output is (result,), result None when the
        # forward raised (torch calls always_call hooks with None then)
        finished = bool(output) and output[0] is not None
        for m, name in zip(self.modules, self.names):
            if finished:
                m.check_calls(name)
            m.reset()


def register_site_resets(owner: nn.Module,
                         modules: List[MultiSitePReLU],
                         names: Optional[List[str]] = None) -> list:
    """Reset the counters of ``modules`` when a forward of ``owner`` (the
    module whose forward calls them) starts and when it ends, normally or
    with an exception (``always_call=True``, torch >= 2.0). Returns the two
    hook handles."""
    hook = ResetSiteCounters(modules, names)
    return [
        owner.register_forward_pre_hook(hook),
        owner.register_forward_hook(hook, always_call=True)
    ]
