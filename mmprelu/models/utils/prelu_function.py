"""A PReLU whose training step costs about what ReLU's does.

Eq. (1) of He et al. 2015: ``f(y_i) = y_i`` if ``y_i > 0`` else ``a_i y_i``.
Its input gradient is ``dE/df`` times 1 or ``a_i``; the slope gradient is
Eq. (2)-(3): ``dE/da_i`` = the sum, over the positions of channel ``i``
(and the mini-batch) with ``y_i <= 0``, of ``(dE/df) * y_i``.

The stock ``F.prelu`` keeps the layer's *input* for backward and, on the
CPU, computes both gradients with a per-element kernel that is not
vectorised and writes an input-sized slope-gradient map that is then
summed: on a 16 x 384 x 28 x 28 tensor its backward is several times
slower than ReLU's, and the saved input doubles the activation memory of
a conv net (the next layer saves the output too).

:func:`fast_prelu` (what ``impl='fast'`` layers call) uses the fused C++
kernel of :mod:`.prelu_ext` when it can be built: both gradients in one
pass, output saved, autograd in C++. :class:`PReLUFunction` is the
pure-Python version of the same idea (``impl='python'``, and the fallback
when no compiler is available); it

* keeps the *output* (which the next layer keeps anyway, so no extra
  memory): where every slope is positive the output has the sign of the
  input, so the masks of Eq. (3) come from it, and the input is
  ``output / a`` on the negative side (Eq. 2-3 are computed as
  ``sum(g * output) / a``). If some slope is ``<= 0`` the input is kept
  instead (the output's sign no longer tells; this costs the stock
  memory, not more);
* computes the backward with vectorised ops only, on chunks of
  :data:`CHUNK_ELEMENTS` elements so that the temporaries stay in the CPU
  cache. Channel-wise (chunks along dim 0): ``gp = threshold_backward(g,
  out, 0)`` written straight into the input gradient, ``gn = g - gp`` (the
  negative-side gradient, one reused temporary), ``grad_input = gp + a *
  gn`` (exact: one term is zero) and ``gn * out`` summed over every dim but
  the channel one. Channel-shared: ``leaky_relu_backward`` with the slope
  as a number (one pass) and ``dot(g, min(out, 0))``.

The forward is ``torch.prelu`` itself, so outputs are bitwise equal to
``nn.PReLU``; the input gradient is bitwise equal too; the slope gradient
differs only by summation order (and the ``/ a`` rounding).

Both keep the output by the rule above and give the same numbers.
Limits (use ``impl='torch'`` if they matter): second-order gradients are
not supported (``once_differentiable``), and modifying the output in place
after the layer (e.g. an in-place ReLU) raises autograd's "modified by an
inplace operation" error, as it would for an in-place ReLU's output.
"""
from typing import Optional, Tuple

import torch
from torch.autograd.function import once_differentiable

from .prelu_ext import load_fused_prelu
from .prelu_half import HalfPReLUFunction

#: Backward chunk size along dim 0, in elements (CPU only; 4 MiB in
#: float32). On 16 x 384 x 28 x 28 (one thread) 256 Ki and 1 Mi elements
#: measured alike, 4 Mi 1.7x and whole tensors 2.2x slower (the
#: temporaries leave the cache).
CHUNK_ELEMENTS = 1 << 20


class PReLUFunction(torch.autograd.Function):
    """``PReLUFunction.apply(input, weight)``: ``torch.prelu`` forward with
    the memory- and pass-saving backward described in the module doc.

    ``weight`` has one element (channel-shared) or ``input.shape[1]``
    (channel-wise); ``input`` has at least 2 dims (N x C [x ...]).
    """

    @staticmethod
    def forward(ctx, input: torch.Tensor,
                weight: torch.Tensor) -> torch.Tensor:
        output = torch.prelu(input, weight)
        from_output = bool((weight > 0).all())
        ctx.from_output = from_output
        ctx.save_for_backward(output if from_output else input, weight)
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor
                 ) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
        saved, weight = ctx.saved_tensors
        need_input, need_weight = ctx.needs_input_grad[:2]
        return prelu_backward(grad, saved, weight, ctx.from_output,
                              need_input, need_weight)


def _chunk_backward(grad, saved, grad_input, slope, dims, need_weight):
    """The gradients of Eq. (1)-(3) on one chunk: writes ``grad_input``
    (if given) and returns the chunk's per-slope sum of ``g * saved`` over
    ``saved <= 0`` (or ``None``)."""
    if grad_input is None:
        gp = torch.ops.aten.threshold_backward(grad, saved, 0)
    else:
        gp = torch.ops.aten.threshold_backward.grad_input(
            grad, saved, 0, grad_input=grad_input)
    gn = torch.sub(grad, gp)  # g where the input is <= 0, else 0
    if grad_input is not None:
        gp.addcmul_(gn, slope)  # exact: gp or gn is zero
    return gn.mul_(saved).sum(dims) if need_weight else None


def _shared_backward(grad, saved, weight, from_output, need_input,
                     need_weight):
    """One slope: ``leaky_relu_backward`` gives the input gradient in one
    pass; the slope gradient is a dot product with ``min(saved, 0)``,
    chunk by chunk."""
    slope = float(weight)
    grad_input = torch.ops.aten.leaky_relu_backward(
        grad, saved, slope, from_output) if need_input else None
    if not need_weight:
        return grad_input, None
    flat_g, flat_s = grad.reshape(-1), saved.reshape(-1)
    total = flat_g.new_zeros(())
    step = flat_g.numel() if grad.is_cuda else CHUNK_ELEMENTS
    for start in range(0, flat_g.numel(), step):
        neg = flat_s[start:start + step].clamp(max=0)
        total += torch.dot(flat_g[start:start + step], neg)
    if from_output:
        total = total / weight.reshape(())
    return grad_input, total.reshape(weight.shape)


def prelu_backward(grad: torch.Tensor, saved: torch.Tensor,
                   weight: torch.Tensor, from_output: bool,
                   need_input: bool = True, need_weight: bool = True):
    """Gradients of Eq. (1) w.r.t. its input and slopes.

    ``saved`` is the forward output (``from_output=True``, all slopes
    positive) or the input. Returns ``(grad_input, grad_weight)``, each
    ``None`` when not needed.
    """
    if weight.numel() == 1:
        return _shared_backward(grad, saved, weight, from_output,
                                need_input, need_weight)
    ndim = saved.dim()
    slope = weight.reshape((1, -1) + (1, ) * (ndim - 2))
    dims = (0, ) + tuple(range(2, ndim))
    grad_input = torch.empty_like(grad) if need_input else None
    rows = grad.shape[0]
    step = rows
    if not grad.is_cuda and grad.numel() > CHUNK_ELEMENTS:
        step = max(1, CHUNK_ELEMENTS // max(1, grad[0].numel()))
    if step >= rows:
        grad_weight = _chunk_backward(grad, saved, grad_input, slope, dims,
                                      need_weight)
    else:
        partial = []
        for start in range(0, rows, step):
            stop = start + step
            partial.append(_chunk_backward(
                grad[start:stop], saved[start:stop],
                None if grad_input is None else grad_input[start:stop],
                slope, dims, need_weight))
        grad_weight = torch.stack(partial).sum(0) if need_weight else None
    if grad_weight is not None:
        if from_output:
            grad_weight = grad_weight.div_(slope.reshape(grad_weight.shape))
        grad_weight = grad_weight.reshape(weight.shape)
    return grad_input, grad_weight


def fast_prelu(input: torch.Tensor,
               weight: torch.Tensor,
               inplace: bool = False,
               fused: bool = True) -> torch.Tensor:
    """Eq. (1) for training: the fused C++ kernel
    (:mod:`.prelu_ext`, ``fused=True``, float32/float64 only) or else
    :class:`PReLUFunction` when autograd needs it on a CPU tensor, and
    ``torch.prelu`` otherwise (no graph, nothing to save; also for meta
    tensors, which have no values to test ``a > 0``, mixed dtypes, integer
    inputs, empty and 1-d inputs).

    ``inplace=True`` lets the fused kernel write the output over the input
    where that is safe (the kernel decides): the input is a non-leaf,
    non-view tensor in the graph and every slope is positive (the input is
    then not needed for backward); otherwise it returns a new tensor, so
    always use the return value. Autograd still raises if something else
    saved the input.

    Accelerator tensors (CUDA etc.) take the stock op: its GPU backward is
    vectorised already, and testing ``a > 0`` would make the host wait for
    the device at every PReLU layer.

    Except on float16 inputs (fp16 autocast, any device) with a slope that
    needs its gradient: :class:`~.prelu_half.HalfPReLUFunction`, the stock
    kernels with the slope gradient summed in float32 (a float16 sum
    overflows under loss scaling)."""
    if (input.dtype == torch.float16 and input.dim() >= 2
            and input.numel() > 0 and weight.is_floating_point()
            and weight.numel() in (1, input.shape[1])
            and weight.requires_grad and torch.is_grad_enabled()):
        return HalfPReLUFunction.apply(input, weight)
    if (input.dim() < 2 or input.dtype != weight.dtype
            or input.device.type != 'cpu' or weight.device.type != 'cpu'
            or not input.is_floating_point() or input.numel() == 0
            or weight.numel() not in (1, input.shape[1])
            or not torch.is_grad_enabled()
            or not (input.requires_grad or weight.requires_grad)):
        return torch.prelu(input, weight)
    if (fused and input.dtype in (torch.float32, torch.float64)
            and load_fused_prelu()):
        return torch.ops.mmprelu_cpu.prelu(input, weight, inplace)
    return PReLUFunction.apply(input, weight)
