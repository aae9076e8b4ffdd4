"""Dense sliding-window evaluation of SPP + fc layers (§5.1, "multi-view
testing on feature maps", from SPP-net and OverFeat).

Given the last conv feature map of a whole image, every ``window x window``
sub-map (stride ``stride`` cells) is pooled by the SPP layer and classified
by the fc layers. Two implementations with identical results:

* :func:`dense_logits_conv` (the fast one, used by default): with SPP-net's
  bin rule, bin ``(i, j)`` of level ``n`` of the window at ``(y, x)`` is the
  max over a ``k x k`` box at ``(y + i s, x + j s)``. So each level is one
  stride-1 max pool of the whole map, fc1 restricted to that level is a
  convolution with an ``n x n`` kernel dilated by ``s``, and fc2 / fc3 are
  1x1 convolutions. The pooled features of the windows are never
  materialized.
* :func:`dense_logits_windows` (the reference): cut the windows out
  explicitly, in chunks, and run them through the SPP module and the head.

Mixed precision (``torch.autocast``, e.g. ``tools/test.py --amp``): the
conv form computes fc1 with in-place ``addmm_``, which autocast does not
cover, so it casts by itself to the dtype autocast gives ``F.linear``
(see :func:`dense_logits_conv`); both forms then agree to bf16 / fp16
precision.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmprelu.compat import autocast_dtype
from ..necks.spp import SpatialPyramidPooling, sppnet_bins


def window_grid(height: int, width: int, window: int,
                stride: int) -> Tuple[int, int, int, int]:
    """Window size per axis (the whole axis when the map is smaller than
    ``window``) and the number of window positions per axis."""
    if window < 1 or stride < 1:
        raise ValueError(f'dense test: window ({window}) and stride '
                         f'({stride}) must be positive')
    win_h, win_w = min(window, height), min(window, width)
    return (win_h, win_w, (height - win_h) // stride + 1,
            (width - win_w) // stride + 1)


def dense_logits_conv(fmap: torch.Tensor,
                      neck: SpatialPyramidPooling,
                      head: nn.Module,
                      window: int = 14,
                      stride: int = 1,
                      budget: int = 0) -> torch.Tensor:
    """Logits of every window of ``fmap`` (1, C, H, W), as a
    ``(num_windows, num_classes)`` tensor in row-major window order.

    Level ``n`` of the pyramid is one stride-1 ``k x k`` max pool of the
    whole map, then fc1's columns of that level applied as an ``n x n``
    convolution dilated by ``s`` (stride ``stride``); fc2 and fc3 act as
    1x1 convolutions on fc1's output. The dilated convolution is computed as
    im2col + matrix product over bands of window rows, each band's column
    buffer holding at most ``budget`` numbers (default: the size of the
    feature map), so memory stays a small multiple of the feature map
    however many windows there are. fc1's weight is used in place (no copy
    outside autocast). Only for ``neck.mode == 'sppnet'``; dropout is
    skipped (evaluation).

    Under ``torch.autocast`` fc1 is computed in the dtype autocast gives
    ``F.linear`` on ``fmap``'s device (bf16 / fp16), as the explicit
    windows' ``head.fc1`` would be: the map, fc1's weight and bias are cast
    to it once per call (the in-place ``addmm_`` is not covered
    by autocast and would refuse mixed dtypes), and fc1's output buffer has
    that dtype. Chosen over an fp32 buffer with out-of-place products: no
    extra band-sized temporary, and the output dtype matches the windows
    form. The levels are added in that dtype (one rounding per level rather
    than one in all; within bf16 / fp16 precision of the windows form,
    tested). Outside autocast nothing is cast.
    """
    if neck.mode != 'sppnet':
        raise ValueError('dense_logits_conv needs SpatialPyramidPooling '
                         f"mode='sppnet', got {neck.mode!r}; use the "
                         "windows implementation (dense_impl='windows')")
    _, channels, height, width = fmap.shape
    win_h, win_w, ny, nx = window_grid(height, width, window, stride)
    neck.check_size(win_h, win_w)
    budget = budget or fmap.numel()
    fc1 = head.fc1
    weight, bias = fc1.weight, fc1.bias
    dtype = autocast_dtype(fmap.device.type)
    if dtype is not None:  # what autocast casts for F.linear; max pooling
        # commutes with the rounding, so the map is cast before it
        fmap, weight, bias = fmap.to(dtype), weight.to(dtype), bias.to(dtype)
    x = bias.repeat(ny * nx, 1)
    offset = 0
    for n in neck.levels:
        (kh, sh), (kw, sw) = sppnet_bins(win_h, n), sppnet_bins(win_w, n)
        pooled = F.max_pool2d(fmap, (kh, kw), stride=1)
        span = channels * n * n
        weight_t = weight[:, offset:offset + span].t()  # a view
        offset += span
        rows = max(1, budget // (span * nx))
        for y0 in range(0, ny, rows):
            y1 = min(ny, y0 + rows)
            top = y0 * stride
            band = pooled[..., top:(y1 - 1) * stride + (n - 1) * sh + 1, :]
            cols = F.unfold(band, (n, n), dilation=(sh, sw), stride=stride)
            cols = cols.view(span, y1 - y0, -1)[..., :nx].reshape(span, -1)
            x[y0 * nx:y1 * nx].addmm_(cols.t(), weight_t)
    x = head.act1(x)
    for i in range(2, head.num_fc + 1):
        x = getattr(head, f'fc{i}')(x)
        if i < head.num_fc:
            x = getattr(head, f'act{i}')(x)
    return x


def dense_logits_windows(fmap: torch.Tensor,
                         neck: SpatialPyramidPooling,
                         head: nn.Module,
                         window: int = 14,
                         stride: int = 1,
                         chunk: int = 64) -> torch.Tensor:
    """Reference: cut every window out of ``fmap`` (1, C, H, W), SPP-pool it
    and classify it with ``head``; ``chunk`` windows at a time (bounded
    memory). Same output layout as :func:`dense_logits_conv`."""
    _, _, height, width = fmap.shape
    win_h, win_w, ny, nx = window_grid(height, width, window, stride)
    corners = [(y * stride, x * stride) for y in range(ny) for x in range(nx)]
    logits = []
    for start in range(0, len(corners), chunk):
        windows = torch.cat([
            fmap[..., y:y + win_h, x:x + win_w]
            for y, x in corners[start:start + chunk]
        ])
        logits.append(head(neck(windows)))
    return torch.cat(logits)
