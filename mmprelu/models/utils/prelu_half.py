"""PReLU on float16 inputs (fp16 mixed precision, ``tools/train.py --amp``)
with the slope gradient summed in float32.

Eq. (2): the gradient of a slope is a sum over every position of its
channel and the mini-batch, and for a channel-shared slope over all
``N x C x H x W`` positions of the layer. Autocast runs ``prelu`` in
float16, so the stock backward returns that sum as a float16 tensor: with
the loss scale of ``AmpOptimWrapper`` (dynamic, starting at 2**16) it
overflows to ``inf`` past 65504 long before any single product does, the
step is skipped and the loss scale is halved, again and again, because of
one slope. :class:`HalfPReLUFunction` computes the same per-element
products as the stock backward, in float16, and only sums them in
float32, returning the slope gradient in the slope's dtype (float32 under
autocast, where the parameters stay float32). The input gradient is the
stock one.

Only float16: bfloat16 has float32's range (its rounded sum does not
overflow), and the bf16 path is left to the stock op. The choice is made by
:func:`~mmprelu.models.utils.prelu_function.fast_prelu`, on every device
(this is the GPU's fp16 training path too); ``impl='torch'`` layers and
``torch.compile`` use the stock op (prefer bf16 there).
"""
from typing import Optional, Tuple

import torch
from torch.autograd.function import once_differentiable

from mmprelu.compat import PRELU_KERNEL_BACKWARD


def _composed_kernel_backward(grad: torch.Tensor, input: torch.Tensor,
                              slope: torch.Tensor):
    """Public-op form of the per-element PReLU backward: ``(grad_input,
    slope-gradient map)``, i.e. ``(g or a g, 0 or g y)``."""
    positive = input > 0
    return (torch.where(positive, grad, grad * slope),
            torch.where(positive, 0, grad * input))


# Guarded adapter: torch's fused per-element PReLU backward, the stock op's
# own kernel (one pass for both maps), is private; mmprelu.compat looks it
# up once, and the public-op form above stands in where it is missing.
# tests/test_models/test_utils/test_prelu_half.py fails if it goes away.
kernel_backward = PRELU_KERNEL_BACKWARD or _composed_kernel_backward


class HalfPReLUFunction(torch.autograd.Function):
    """``HalfPReLUFunction.apply(input, weight)``: Eq. (1) on a float16
    ``input`` (N x C [x ...]) with a slope ``weight`` of one element or
    ``C`` elements in any floating dtype; the output is float16 (as under
    autocast) and the slope gradient is summed in float32."""

    @staticmethod
    def forward(ctx, input: torch.Tensor,
                weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(input, weight)
        return torch.prelu(input, weight.to(input.dtype))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor
                 ) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
        input, weight = ctx.saved_tensors
        need_input, need_weight = ctx.needs_input_grad[:2]
        channel_wise = weight.numel() > 1
        shape = [1] * input.dim()
        if channel_wise:
            shape[1] = -1
        slope = weight.to(input.dtype).reshape(shape)
        grad_input, grad_map = kernel_backward(grad.to(input.dtype), input,
                                               slope)
        grad_weight = None
        if need_weight:
            dims = [d for d in range(input.dim()) if d != 1 or
                    not channel_wise]
            grad_weight = grad_map.sum(dims, dtype=torch.float32).reshape(
                weight.shape).to(weight.dtype)
        return grad_input if need_input else None, grad_weight
