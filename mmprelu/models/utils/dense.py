"""Dense sliding-window evaluation of SPP + fc layers (§5.1, "multi-view
testing on feature maps", from SPP-net and OverFeat).

Given the last conv feature maps of whole images, every ``window x window``
sub-map (stride ``stride`` cells) is pooled by the SPP layer and classified
by the fc layers. Two implementations with identical results:

* :func:`dense_logits_conv` (``DenseWindowTTA``'s choice for many windows
  when the neck follows SPP-net's bin rule): bin ``(i, j)`` of level ``n``
  of the window at ``(y, x)`` is the max over a ``k x k`` box at
  ``(y + i s, x + j s)``. So each level is one stride-1 max pool of the
  whole map, and fc1 restricted to that level is ``F.conv2d`` with an
  ``n x n`` kernel dilated by ``s``: SPP flattens each level
  channel-major, so fc1's columns of the level are the kernel
  ``(D, C, n, n)`` as they are. The rest of the head runs on every window's
  fc1 output. The pooled features of the windows are never materialized,
  and ``torch.autocast`` covers every op (``tools/test.py --amp``).
* :func:`dense_logits_windows` (the reference, and the path for
  ``SpatialPyramidPooling(mode='adaptive')``): cut the windows out
  explicitly, ``chunk`` at a time, and run them through the neck and head.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..necks.spp import SpatialPyramidPooling, sppnet_bins

#: fc1 weights per convolution: a convolution copies its kernel into its own
#: layout (fc1's columns of a level are not contiguous), so the kernel goes
#: in pieces of output channels, which bounds the copies (16 MiB in fp32);
#: on CPU 2^22 was also faster than the whole kernel (1 and 2 threads,
#: models A and A x0.25, s = 384 and 480; docs/performance.md)
KERNEL_CHUNK = 1 << 22


def window_grid(height: int, width: int, window: int,
                stride: int) -> Tuple[int, int, int, int]:
    """Window size per axis (the whole axis when the map is smaller than
    ``window``) and the number of window positions per axis (``window`` and
    ``stride`` positive: ``DenseWindowTTA`` checks them)."""
    win_h, win_w = min(window, height), min(window, width)
    return (win_h, win_w, (height - win_h) // stride + 1,
            (width - win_w) // stride + 1)


def dense_logits_conv(fmap: torch.Tensor,
                      neck: SpatialPyramidPooling,
                      head: nn.Module,
                      window: int = 14,
                      stride: int = 1) -> torch.Tensor:
    """Logits of every window of ``fmap`` (N, C, H, W), as an
    ``(N, num_windows, num_classes)`` tensor in row-major window order.

    ``head`` is a ``StackedLinearClsHead`` (e.g. ``PReLUNetHead``): its
    first block's fc is applied as dilated convolutions per pyramid level
    (``KERNEL_CHUNK`` weights each, summed), then the block's norm /
    activation and the other blocks run on the ``N * num_windows`` fc1
    outputs. Only for ``neck.mode == 'sppnet'``; dropout is skipped
    (evaluation).
    """
    if neck.mode != 'sppnet':
        raise ValueError('dense_logits_conv needs SpatialPyramidPooling '
                         f"mode='sppnet', got {neck.mode!r}; use "
                         'dense_logits_windows')
    num, channels, height, width = fmap.shape
    win_h, win_w, ny, nx = window_grid(height, width, window, stride)
    neck.check_size(win_h, win_w)
    first = head.layers[0]
    x, offset = None, 0
    for n in neck.levels:
        (kh, sh), (kw, sw) = sppnet_bins(win_h, n), sppnet_bins(win_w, n)
        pooled = F.max_pool2d(fmap, (kh, kw), stride=1)
        span = channels * n * n
        kernels = first.fc.weight[:, offset:offset + span].view(
            -1, channels, n, n).split(max(1, KERNEL_CHUNK // span))
        biases = (
            first.fc.bias.split(len(kernels[0])) if x is None else [None] *
            len(kernels))
        offset += span
        out = torch.cat([
            F.conv2d(pooled, k, b, stride=stride, dilation=(sh, sw))
            for k, b in zip(kernels, biases)
        ],
                        dim=1)[..., :ny, :nx]
        x = out if x is None else x + out
    x = x.flatten(2).transpose(1, 2).reshape(num * ny * nx, -1)
    for layer in (first.norm, first.act, first.dropout):
        if layer is not None:
            x = layer(x)
    for block in head.layers[1:]:
        x = block(x)
    return x.view(num, ny * nx, -1)


def dense_logits_windows(fmap: torch.Tensor,
                         neck: nn.Module,
                         head: nn.Module,
                         window: int = 14,
                         stride: int = 1,
                         chunk: int = 64) -> torch.Tensor:
    """Reference: cut every window out of ``fmap`` (N, C, H, W), pool it
    with ``neck`` and classify it with ``head``; ``chunk`` window positions
    at a time (bounded memory). Same output layout as
    :func:`dense_logits_conv`."""
    num, _, height, width = fmap.shape
    win_h, win_w, ny, nx = window_grid(height, width, window, stride)
    corners = [(y * stride, x * stride) for y in range(ny) for x in range(nx)]
    logits = []
    for start in range(0, len(corners), chunk):
        windows = torch.stack([
            fmap[..., y:y + win_h, x:x + win_w]
            for y, x in corners[start:start + chunk]
        ],
                              dim=1)
        out = head(neck((windows.flatten(0, 1), )))
        logits.append(out.view(num, windows.shape[1], -1))
    return torch.cat(logits, dim=1)
