"""Spatial pyramid pooling (SPP-net, He et al. 2014), the layer between the
conv trunk and fc1 of every PReLU-net (Table 1: {6, 3, 2, 1}; Table 3:
{7, 3, 2, 1}).
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmprelu.registry import MODELS

MODES = ('sppnet', 'adaptive')


def sppnet_bins(size: int, level: int) -> Tuple[int, int]:
    """SPP-net's bin rule for ``level`` bins over ``size`` cells: window
    ``ceil(a / n)``, stride ``floor(a / n)``. Bin ``i`` covers cells
    ``[i * stride, i * stride + window)``. Integer arithmetic only, so that
    a traced size (ONNX export with dynamic axes) stays symbolic."""
    return (size + level - 1) // level, size // level


@MODELS.register_module()
class SpatialPyramidPooling(nn.Module):
    """Max-pool a feature map into a fixed pyramid of bins and flatten.

    For a ``C x h x w`` map the output has ``C * sum(n * n)`` features
    (levels (7, 3, 2, 1): 63 bins), ordered level by level, each level
    channel-major (``C, n, n`` flattened) like ``torch.flatten``.

    Args:
        levels (Sequence[int]): bins per side of each pyramid level.
            Defaults to (7, 3, 2, 1), the PReLU-nets of Table 3.
        mode (str): ``'sppnet'`` (default): the SPP-net rule, per axis,
            window ``ceil(a / n)`` and stride ``floor(a / n)``, the first
            ``n`` windows. It is exact where the paper trains (14x14 maps
            give windows 2/5/7/14) but, as in SPP-net, may leave the last
            rows/columns of some maps out of a level (e.g. the 3x3 level of
            a 14x14 map covers rows 0-12). It is what makes dense testing a
            stride-1 pooling plus a dilated convolution.
            ``'adaptive'``: :func:`torch.nn.functional.adaptive_max_pool2d`
            (bins ``[floor(i a / n), ceil((i + 1) a / n))``, always covering
            the whole map).

    Any map at least as large as the finest level (``max(levels)`` cells per
    side) is accepted, of any aspect ratio; a smaller one raises a
    ``ValueError`` naming its size and the minimum.
    """

    def __init__(self,
                 levels: Sequence[int] = (7, 3, 2, 1),
                 mode: str = 'sppnet') -> None:
        super().__init__()
        levels = tuple(levels)
        if not levels or any(not isinstance(n, int) or n < 1 for n in levels):
            raise ValueError(f'SpatialPyramidPooling: levels must be '
                             f'positive ints, got {levels!r}')
        if mode not in MODES:
            raise ValueError(f'SpatialPyramidPooling: unknown mode {mode!r};'
                             f' valid: {MODES}')
        self.levels = levels
        self.mode = mode

    @property
    def num_bins(self) -> int:
        """Bins per channel: ``sum(n * n)``."""
        return sum(n * n for n in self.levels)

    def out_channels(self, in_channels: int) -> int:
        """Length of the pooled vector for ``in_channels`` channels."""
        return in_channels * self.num_bins

    def check_size(self, height: int, width: int) -> None:
        finest = max(self.levels)
        if height < finest or width < finest:
            raise ValueError(
                f'SpatialPyramidPooling: the feature map is {height}x{width}'
                f' but the finest pyramid level has {finest}x{finest} bins '
                f'(levels {self.levels}); the feature map must be at least '
                f'{finest}x{finest}. Use a larger input image or smaller '
                f'levels.')

    def pool_level(self, x: torch.Tensor, level: int) -> torch.Tensor:
        """Pool ``x`` (N, C, h, w) into ``level x level`` bins."""
        if self.mode == 'adaptive':
            return F.adaptive_max_pool2d(x, level)
        (kh, sh), (kw, sw) = (sppnet_bins(a, level) for a in x.shape[-2:])
        out = F.max_pool2d(x, (kh, kw), (sh, sw))
        return out[..., :level, :level]

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """SPP of one feature map: (N, C, h, w) -> (N, C * num_bins)."""
        if x.dim() != 4:
            raise ValueError(f'SpatialPyramidPooling expects (N, C, H, W) '
                             f'maps, got shape {tuple(x.shape)}')
        self.check_size(*x.shape[-2:])
        return torch.cat(
            [self.pool_level(x, n).flatten(1) for n in self.levels], dim=1)

    def forward(self, inputs):
        """Pool every map of a backbone's output tuple."""
        if isinstance(inputs, torch.Tensor):
            return self.pool(inputs)
        return tuple(self.pool(x) for x in inputs)

    def extra_repr(self) -> str:
        return f'levels={self.levels}, mode={self.mode!r}'
