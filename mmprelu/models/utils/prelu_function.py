"""PReLU (Eq. 1 of He et al. 2015) as an autograd function that keeps the
output, as ReLU does, so that PReLU costs "nearly zero" over ReLU (§2.1).

Eq. (1): ``f(y_i) = y_i`` if ``y_i > 0`` else ``a_i y_i``. The input
gradient is ``dE/df`` times 1 or ``a_i``; Eq. (2)-(3): ``dE/da_i`` is the
sum, over the positions of channel ``i`` (and the mini-batch) with
``y_i <= 0``, of ``(dE/df) * y_i``.

Why not the stock ``F.prelu`` everywhere: it keeps the layer's *input*
for backward (the next conv keeps the output too, so a conv net's saved
activations grow by a quarter), and its CPU backward is a per-element
kernel that writes an input-sized slope-gradient map and then sums it
(about 3x ReLU's forward + backward). :class:`PReLUFunction` instead

* keeps the *output* where every slope is > 0 (then the output has the
  input's sign and the slope gradient is ``sum(g * out) / a``), else the
  input (the stock memory, not more). Only the CPU makes that test: on an
  accelerator it would make the host wait for the device, so the input is
  kept there;
* computes the backward with five vectorised ATen ops:
  ``gp = threshold_backward(g, kept, 0)`` (ReLU's backward), ``gn = g -
  gp``, ``grad_input = gp + a * gn`` (exact: one term is zero, so it is
  bitwise the stock input gradient) and the sum of ``gn * kept`` over
  every dim but the slope's, accumulated in the slope's dtype. Under fp16
  autocast that sum is float32: the stock fp16 sum of Eq. (2) overflows
  (65504) under the loss scale of ``AmpOptimWrapper`` long before any
  single product does. CPU tensors of more than :data:`CHUNK_ELEMENTS`
  per thread go in row chunks of about that size sharing one temporary.

The forward is ``torch.prelu`` itself: outputs are bitwise ``nn.PReLU``'s.
No second-order gradients (``once_differentiable``). Which inputs take it
is :func:`lean_applies`; the layer is :class:`~.activation.PReLU`.
"""
from typing import Optional, Tuple

import torch
from torch.autograd.function import once_differentiable

from mmprelu.compat import autocast_dtype

#: Backward chunk along dim 0 on the CPU, in elements per thread (4 MiB of
#: float32): the chunk's tensors stay in the cache and its temporary is
#: allocated once (on 16 x 256 x 56 x 56, a fresh input-sized temporary
#: costs more in page faults than the arithmetic on it); per thread, so
#: that more threads meet fewer times between ops.
CHUNK_ELEMENTS = 1 << 20


def lean_applies(input: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether :class:`PReLUFunction` computes ``F.prelu(input, weight)``
    for training: autograd needs a graph, ``input`` is ``N x C [x ...]``
    with one or ``C`` slopes, and either

    * float16 on any device (fp16 autocast, where the stock slope gradient
      overflows), unless autocast casts to another dtype, or
    * float32 / float64 on the CPU, the slopes in the same dtype, autocast
      off (the stock CPU backward is the slow one).

    Everything else (no grad, GPU float32 / bfloat16, meta tensors, other
    dtypes) is left to ``F.prelu``."""
    if not (torch.is_grad_enabled() and
            (input.requires_grad or weight.requires_grad) and input.dim() >= 2
            and input.numel() > 0 and weight.is_floating_point()
            and weight.numel() in (1, input.shape[1])):
        return False
    autocast = autocast_dtype(input.device.type)
    if input.dtype == torch.float16:
        return autocast in (None, torch.float16)
    return (autocast is None and input.device.type == 'cpu'
            and weight.device.type == 'cpu' and input.dtype == weight.dtype
            and input.dtype in (torch.float32, torch.float64))


def _gradients(grad, kept, slope, dims, dtype, grad_input=None, temp=None):
    """The input gradient (written into ``grad_input`` if given) and the
    slope-gradient sum (in ``dtype``) of one block, ``temp`` holding the
    negative-side gradient (see the module doc)."""
    if grad_input is None:
        gp = torch.ops.aten.threshold_backward(grad, kept, 0)
    else:
        gp = torch.ops.aten.threshold_backward.grad_input(
            grad, kept, 0, grad_input=grad_input)
    gn = torch.sub(grad, gp, out=temp)
    gp.addcmul_(gn, slope)  # exact: gp or gn is zero
    return gp, gn.mul_(kept).sum(dims, dtype=dtype)


class PReLUFunction(torch.autograd.Function):
    """``PReLUFunction.apply(input, weight)``: ``torch.prelu`` forward with
    the backward of the module doc; ``weight`` (one or ``C`` slopes) is
    cast to ``input``'s dtype, as autocast does, and gets its gradient in
    its own dtype."""

    @staticmethod
    def forward(ctx, input: torch.Tensor,
                weight: torch.Tensor) -> torch.Tensor:
        output = torch.prelu(input, weight.to(input.dtype))
        ctx.from_output = (
            input.device.type == 'cpu' and bool((weight > 0).all()))
        ctx.save_for_backward(output if ctx.from_output else input, weight)
        return output

    @staticmethod
    @once_differentiable
    def backward(
        ctx, grad: torch.Tensor
    ) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
        kept, weight = ctx.saved_tensors
        shape = [1] * kept.dim()
        if weight.numel() > 1:
            shape[1] = -1
        slope = weight.to(kept.dtype).reshape(shape)
        dims = [d for d, n in enumerate(shape) if n == 1]
        chunk = CHUNK_ELEMENTS * torch.get_num_threads()
        if kept.device.type != 'cpu' or kept.numel() <= chunk:
            grad_input, grad_weight = _gradients(grad, kept, slope, dims,
                                                 weight.dtype)
        else:  # row chunks, one temporary for all
            step = max(1, chunk // kept[0].numel())
            grad_input = torch.empty_like(grad)
            temp = torch.empty_like(grad[:step])
            grad_weight = torch.stack([
                _gradients(grad[i:i + step], kept[i:i + step], slope, dims,
                           weight.dtype, grad_input[i:i + step],
                           temp[:min(step,
                                     len(kept) - i)])[1]
                for i in range(0, len(kept), step)
            ]).sum(0)
        if ctx.from_output:
            grad_weight = grad_weight / weight.reshape(grad_weight.shape)
        need_input, need_weight = ctx.needs_input_grad[:2]
        return (grad_input if need_input else None,
                grad_weight.reshape(weight.shape) if need_weight else None)
