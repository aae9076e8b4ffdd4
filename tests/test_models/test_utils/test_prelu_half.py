"""fp16 mixed precision: the slope gradient of Eq. (2) is summed in float32
(CPU fp16 autocast stands in for CUDA ``--amp``)."""
import pytest
import torch
import torch.nn.functional as F

from mmprelu.compat import cpu_autocast_supports
from mmprelu.models.utils import PReLU
from mmprelu.models.utils import prelu_half
from mmprelu.models.utils.prelu_half import HalfPReLUFunction

FP16 = dict(device_type='cpu', dtype=torch.float16)
#: torch 2.1 has CPU autocast for bfloat16 only: the stand-in cannot run
needs_cpu_fp16 = pytest.mark.skipif(
    not cpu_autocast_supports(torch.float16),
    reason=f'torch {torch.__version__} has no float16 CPU autocast (the CPU '
    'stand-in for CUDA --amp; CUDA fp16 is not affected)')


@needs_cpu_fp16
@pytest.mark.parametrize('channel_shared', [True, False])
def test_shared_slope_gradient_does_not_overflow(channel_shared):
    """8 x 16 x 32 x 32 inputs of -1 and an output gradient of 1: the slope
    gradient is -131072 (channel-shared) or -8192 per channel, the former
    past float16's 65504, where the stock fp16 backward gives -inf."""
    layer = PReLU(16, channel_shared=channel_shared)
    x = torch.full((8, 16, 32, 32), -1.)
    expected = -x.numel() / layer.weight.numel()
    with torch.autocast(**FP16):
        out = layer(x.half())
    assert out.dtype == torch.float16  # what autocast gives prelu
    out.backward(torch.ones_like(out))
    assert layer.weight.grad.dtype == torch.float32
    assert torch.all(layer.weight.grad == expected)
    # stock F.prelu under the same autocast: the overflow the fix avoids
    stock = layer.weight.detach().clone().requires_grad_()
    with torch.autocast(**FP16):
        out = F.prelu(x.half(), stock)
    out.backward(torch.ones_like(out))
    if channel_shared:
        assert torch.isinf(stock.grad).all()
    else:
        assert torch.all(stock.grad == expected)


@needs_cpu_fp16
@pytest.mark.parametrize('channels,shared', [(5, False), (5, True),
                                             (7, False)])
@pytest.mark.parametrize('shape', [(3, None, 6, 4), (4, None)])
def test_matches_stock_autocast(channels, shared, shape):
    """Same output and input gradient as stock under fp16 autocast, bitwise;
    the slope gradient to float16 precision (stock rounds its sum)."""
    torch.manual_seed(0)
    shape = tuple(channels if s is None else s for s in shape)
    x = torch.randn(shape)
    weight = torch.empty(1 if shared else channels).uniform_(-0.5, 1.)
    g = torch.randn(shape).half()
    grads = []
    for use_ours in (True, False):
        xi = x.clone().requires_grad_()
        wi = weight.clone().requires_grad_()
        with torch.autocast(**FP16):
            half = xi.half()
            out = (HalfPReLUFunction.apply(half, wi) if use_ours
                   else F.prelu(half, wi))
        out.backward(g)
        grads.append((out, xi.grad, wi.grad))
    (out, gx, gw), (ref_out, ref_gx, ref_gw) = grads
    assert out.dtype == ref_out.dtype == torch.float16
    assert torch.equal(out, ref_out) and torch.equal(gx, ref_gx)
    assert gw.dtype == torch.float32
    torch.testing.assert_close(gw, ref_gw, rtol=2e-3, atol=2e-3)


def test_private_kernel_is_used_and_matches_public_form():
    """The guarded adapter: torch's fused per-element backward exists (this
    fails loudly if torch renames it) and equals the public-op form."""
    assert prelu_half.kernel_backward is not \
        prelu_half._composed_kernel_backward
    torch.manual_seed(0)
    x, g = torch.randn(2, 3, 4, 4).half(), torch.randn(2, 3, 4, 4).half()
    slope = torch.tensor([0.25, -0.5, 1.5]).half().reshape(1, 3, 1, 1)
    for a, b in zip(prelu_half.kernel_backward(g, x, slope),
                    prelu_half._composed_kernel_backward(g, x, slope)):
        assert torch.equal(a, b)


@needs_cpu_fp16
@pytest.mark.parametrize('impl,expected', [('fast', 'HalfPReLUFunction'),
                                           ('python', 'HalfPReLUFunction'),
                                           ('torch', None)])
def test_layer_routes_float16(impl, expected):
    layer = PReLU(4, impl=impl)
    with torch.autocast(**FP16):
        out = layer(torch.randn(2, 4, 3, 3).half())
    name = type(out.grad_fn).__name__
    assert (expected in name) if expected else 'HalfPReLU' not in name
    # bfloat16 and float32 keep their paths
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = layer(torch.randn(2, 4, 3, 3).bfloat16())
    assert 'HalfPReLU' not in type(out.grad_fn).__name__
