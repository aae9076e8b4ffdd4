"""The lean PReLU autograd function (PReLU's default impl='lean'): same
numbers as nn.PReLU, the output kept instead of the input, the float16
slope gradient summed in float32, and F.prelu wherever it does not apply
or impl='torch'."""
import contextlib
import io

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mmprelu.models.utils.prelu_function as prelu_function
from benchmarks._common import cpu_autocast_supports
from mmprelu.compat import onnx_export
from mmprelu.models.utils import PReLU, PReLUFunction, build_activation

SHAPES = [(6, 5), (3, 5, 7), (2, 5, 4, 3)]
STOCK = 'PreluKernelBackward0'
LEAN = 'PReLUFunctionBackward'
FP16 = dict(device_type='cpu', dtype=torch.float16)
#: torch 2.1 has CPU autocast for bfloat16 only: the stand-in cannot run
needs_cpu_fp16 = pytest.mark.skipif(
    not cpu_autocast_supports(torch.float16),
    reason=f'torch {torch.__version__} has no float16 CPU autocast (the CPU '
    'stand-in for CUDA --amp; CUDA fp16 is not affected)')


def slopes(channels, shared, mode, dtype=torch.float32):
    """Positive slopes (output kept) or some <= 0 (input kept)."""
    gen = torch.Generator().manual_seed(channels)
    w = torch.rand(
        1 if shared else channels, generator=gen, dtype=dtype) + 0.05
    if mode == 'nonpositive':
        w[0] = -0.3
        if not shared:
            w[-1] = 0.0
    return w


def pair(shape, shared, mode):
    ours = PReLU(shape[1], channel_shared=shared)
    stock = nn.PReLU(1 if shared else shape[1])
    with torch.no_grad():
        ours.weight.copy_(slopes(shape[1], shared, mode))
        stock.weight.copy_(ours.weight)
    return ours, stock


def run(layer, x, grad):
    x = x.clone().requires_grad_()
    out = layer(x)
    out.backward(grad)
    return out, x.grad


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('shared', [False, True])
@pytest.mark.parametrize('mode', ['positive', 'nonpositive'])
def test_matches_stock_prelu(shape, shared, mode):
    ours, stock = pair(shape, shared, mode)
    x = torch.randn(shape)
    x.view(-1)[:3] = 0.0  # exact zeros take the a * g branch
    grad = torch.randn(shape)
    (ya, ga), (yb, gb) = run(ours, x, grad), run(stock, x, grad)
    assert ya.grad_fn.name() == LEAN
    assert torch.equal(ya, yb)  # forward bitwise equal
    assert torch.equal(ga, gb)  # input gradient bitwise equal
    # slope gradient: equal up to summation order (and the / a rounding)
    torch.testing.assert_close(
        ours.weight.grad, stock.weight.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('shape', [(4, 3), (2, 3, 4, 5)])
@pytest.mark.parametrize('shared', [False, True])
@pytest.mark.parametrize('mode', ['positive', 'nonpositive'])
def test_gradcheck_double(shape, shared, mode):
    x = torch.randn(shape, dtype=torch.double)
    x = (x + 0.1 * x.sign()).requires_grad_()  # keep away from the kink
    w = slopes(shape[1], shared, mode, torch.double).requires_grad_()
    assert torch.autograd.gradcheck(PReLUFunction.apply, (x, w))


@pytest.mark.parametrize('shared', [False, True])
def test_chunked_backward_matches_one_chunk(monkeypatch, shared):
    shape = (7, 4, 6, 5)
    x = torch.randn(shape, requires_grad=True)
    w = slopes(4, shared, 'positive').requires_grad_()
    grad = torch.randn(shape)
    PReLUFunction.apply(x, w).backward(grad)
    whole = (x.grad.clone(), w.grad.clone())
    x.grad = w.grad = None
    # chunks of at most 2 rows (the chunk is per thread)
    monkeypatch.setattr(prelu_function, 'CHUNK_ELEMENTS',
                        max(1, 2 * 4 * 6 * 5 // torch.get_num_threads()))
    PReLUFunction.apply(x, w).backward(grad)
    assert torch.equal(x.grad, whole[0])
    torch.testing.assert_close(w.grad, whole[1])


@pytest.mark.parametrize('mode,keeps', [('positive', 'output'),
                                        ('nonpositive', 'input')])
def test_saves_output_unless_a_slope_is_nonpositive(mode, keeps):
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    h = x * 1  # a non-leaf input, as after a conv
    w = slopes(3, False, mode).requires_grad_()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
            lambda t: saved.append(t) or t, lambda t: t):
        y = PReLUFunction.apply(h, w)
    ptrs = {t.untyped_storage().data_ptr() for t in saved}
    target = y if keeps == 'output' else h
    assert target.untyped_storage().data_ptr() in ptrs
    assert len(saved) == 2  # the kept tensor and the slopes, nothing else


@pytest.mark.parametrize('need', ['input', 'weight'])
def test_one_gradient_only(need):
    x = torch.randn(3, 4, 5, requires_grad=need == 'input')
    w = slopes(4, False, 'positive').requires_grad_(need == 'weight')
    PReLUFunction.apply(x, w).sum().backward()
    ref_x = x.detach().clone().requires_grad_(need == 'input')
    ref_w = w.detach().clone().requires_grad_(need == 'weight')
    F.prelu(ref_x, ref_w).sum().backward()
    ours, ref = (x, ref_x) if need == 'input' else (w, ref_w)
    torch.testing.assert_close(ours.grad, ref.grad)


def test_no_graph_needed_uses_plain_prelu():
    layer = PReLU(4).requires_grad_(False)
    x = torch.randn(2, 4)
    assert layer(x).grad_fn is None  # nothing needs a gradient: no graph
    assert layer(x.requires_grad_()).grad_fn.name() == LEAN
    with torch.no_grad():
        assert layer.requires_grad_()(x).grad_fn is None


def test_inplace_change_of_output_is_an_error():
    x = torch.randn(2, 3, 4, requires_grad=True)
    y = PReLU(3)(x)
    y.mul_(2)
    with pytest.raises(RuntimeError, match='modified by an inplace'):
        y.sum().backward()
    y = PReLU(3, impl='torch')(x * 1)  # the stock op keeps the input
    y.mul_(2).sum().backward()


@pytest.mark.parametrize('impl,grad_fn', [('lean', LEAN), ('torch', STOCK)])
def test_constructor_switch(impl, grad_fn):
    act = build_activation(dict(type='PReLU', impl=impl), 3)
    assert act.impl == impl and f'impl={impl!r}' in repr(act)
    y = act(torch.randn(2, 3, requires_grad=True))
    assert y.grad_fn.name() == grad_fn
    assert PReLU(3).impl == 'lean'


def test_double_backward_with_torch_impl():
    x = torch.randn(2, 3, 4, dtype=torch.double, requires_grad=True)
    w = slopes(3, False, 'positive', torch.double).requires_grad_()
    assert torch.autograd.gradgradcheck(F.prelu, (x, w))
    layer = PReLU(3, impl='torch').double()
    (g, ) = torch.autograd.grad(layer(x).pow(2).sum(), x, create_graph=True)
    g.sum().backward()  # second order through F.prelu
    assert layer.weight.grad is not None


@pytest.mark.parametrize('bad', ['fast', 'python', 'Lean', 1])
def test_bad_impl(bad):
    with pytest.raises(
            ValueError, match=r"valid choices are \('lean', "
            r"'torch'\)"):
        PReLU(3, impl=bad)


def test_state_dict_and_type_unchanged():
    act = PReLU(5)
    assert isinstance(act, nn.PReLU)
    assert list(act.state_dict()) == ['weight']
    stock = nn.PReLU(5, init=0.1)
    act.load_state_dict(stock.state_dict())
    assert torch.equal(act.weight, stock.weight)


def test_torchscript_trace_and_onnx_use_stock_prelu():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), PReLU(4))
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(torch.jit.script(net)(x), net(x))
    traced = torch.jit.trace(net, x.requires_grad_())
    assert 'prelu' in str(traced.graph)
    assert torch.equal(traced(x), net(x))
    onnx = pytest.importorskip('onnx')
    buf = io.BytesIO()
    onnx_export(net, (x, ), buf)
    ops = [n.op_type for n in onnx.load_from_string(buf.getvalue()).graph.node]
    assert 'PRelu' in ops


def test_torch_compile_falls_back():
    act = PReLU(3)
    x = torch.randn(2, 3, 4, requires_grad=True)
    y = torch.compile(act, backend='aot_eager')(x)
    y.sum().backward()
    torch.testing.assert_close(y, F.prelu(x, act.weight))
    assert act.weight.grad is not None and x.grad is not None


@pytest.mark.parametrize('shared', [False, True])
def test_channels_last_and_expanded_grad(shared):
    x = torch.randn(3, 4, 5, 5).to(memory_format=torch.channels_last)
    ours, stock = pair(x.shape, shared, 'positive')
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours(xa).sum().backward()  # grad is an expanded (stride 0) tensor
    stock(xb).sum().backward()
    assert torch.equal(xa.grad, xb.grad)
    torch.testing.assert_close(ours.weight.grad, stock.weight.grad)


def test_meta_tensors_use_stock_prelu():
    with torch.device('meta'):
        act = PReLU(4)
        y = act(torch.empty(2, 4, 3, 3, requires_grad=True))
    assert y.is_meta and y.shape == (2, 4, 3, 3)


@pytest.mark.parametrize('channel_shared', [True, False])
def test_fp16_slope_gradient_does_not_overflow(channel_shared):
    """8 x 16 x 32 x 32 inputs of -1 and an output gradient of 1: the slope
    gradient is -131072 (channel-shared) or -8192 per channel, the former
    past float16's 65504, where the stock fp16 backward gives -inf. Under
    fp16 autocast where the CPU has it, else on a float16 input alone."""
    autocast = cpu_autocast_supports(torch.float16)
    layer = PReLU(16, channel_shared=channel_shared)
    x = torch.full((8, 16, 32, 32), -1.)
    expected = -x.numel() / layer.weight.numel()
    with torch.autocast(**FP16) if autocast else contextlib.nullcontext():
        out = layer(x.half())
    assert out.dtype == torch.float16  # what autocast gives prelu
    assert out.grad_fn.name() == LEAN
    out.backward(torch.ones_like(out))
    assert layer.weight.grad.dtype == torch.float32
    assert torch.all(layer.weight.grad == expected)
    if not autocast:
        return
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
@pytest.mark.parametrize('low', [-0.5, 0.05])  # input or output kept
def test_fp16_matches_stock_autocast(channels, shared, shape, low):
    """Same output and input gradient as stock under fp16 autocast, bitwise;
    the slope gradient to float16 precision (stock rounds its sum)."""
    torch.manual_seed(0)
    shape = tuple(channels if s is None else s for s in shape)
    x = torch.randn(shape)
    weight = torch.empty(1 if shared else channels).uniform_(low, 1.)
    g = torch.randn(shape).half()
    grads = []
    for fn in (PReLUFunction.apply, F.prelu):
        xi = x.clone().requires_grad_()
        wi = weight.clone().requires_grad_()
        with torch.autocast(**FP16):
            out = fn(xi.half(), wi)
        out.backward(g)
        grads.append((out, xi.grad, wi.grad))
    (out, gx, gw), (ref_out, ref_gx, ref_gw) = grads
    assert out.dtype == ref_out.dtype == torch.float16
    assert torch.equal(out, ref_out) and torch.equal(gx, ref_gx)
    assert gw.dtype == torch.float32
    torch.testing.assert_close(gw, ref_gw, rtol=2e-3, atol=2e-3)


@needs_cpu_fp16
@pytest.mark.parametrize('impl,expected', [('lean', LEAN), ('torch', None)])
def test_layer_routes_float16(impl, expected):
    layer = PReLU(4, impl=impl)
    with torch.autocast(**FP16):
        out = layer(torch.randn(2, 4, 3, 3).half())
    assert (out.grad_fn.name() == expected) if expected else \
        out.grad_fn.name() != LEAN
    # bfloat16 and float32 under bf16 autocast: the stock op
    with torch.autocast('cpu', dtype=torch.bfloat16):
        for x in (torch.randn(2, 4, 3, 3).bfloat16(), torch.randn(2, 4)):
            assert layer(x).grad_fn.name() != LEAN
