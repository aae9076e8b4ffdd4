"""The Python PReLU autograd function (impl='python', the fallback of
impl='fast') and the impl switch of PReLU; the fused kernel has
test_prelu_ext.py."""
import io

import pytest
import torch
import torch.nn as nn

import mmprelu.models.utils.prelu_function as prelu_function
from mmprelu.compat import onnx_export
from mmprelu.models.utils import (PReLU, PReLUFunction, build_activation,
                                  fast_prelu, get_prelu_impl, prelu_impl,
                                  restore_model_prelu_impl,
                                  set_model_prelu_impl, set_prelu_impl)

SHAPES = [(6, 5), (3, 5, 7), (2, 5, 4, 3)]


def slopes(channels, shared, mode, dtype=torch.float32):
    """Positive slopes (output path) or some <= 0 (input path)."""
    gen = torch.Generator().manual_seed(channels)
    w = torch.rand(1 if shared else channels, generator=gen,
                   dtype=dtype) + 0.05
    if mode == 'nonpositive':
        w[0] = -0.3
        if not shared:
            w[-1] = 0.0
    return w


def pair(shape, shared, mode, impl='python'):
    ours = PReLU(shape[1], channel_shared=shared, impl=impl)
    stock = nn.PReLU(1 if shared else shape[1])
    with torch.no_grad():
        ours.weight.copy_(slopes(shape[1], shared, mode))
        stock.weight.copy_(ours.weight)
    return ours, stock


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('shared', [False, True])
@pytest.mark.parametrize('mode', ['positive', 'nonpositive'])
def test_matches_stock_prelu(shape, shared, mode):
    ours, stock = pair(shape, shared, mode)
    x = torch.randn(shape)
    x.view(-1)[:3] = 0.0  # exact zeros take the a * g branch
    grad = torch.randn(shape)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ours(xa), stock(xb)
    assert ya.grad_fn.name() == 'PReLUFunctionBackward'
    assert torch.equal(ya, yb)  # forward bitwise equal
    ya.backward(grad)
    yb.backward(grad)
    assert torch.equal(xa.grad, xb.grad)  # input gradient bitwise equal
    # slope gradient: equal up to summation order (and the / a rounding)
    torch.testing.assert_close(ours.weight.grad, stock.weight.grad,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('shape', [(4, 3), (2, 3, 4, 5)])
@pytest.mark.parametrize('shared', [False, True])
@pytest.mark.parametrize('mode', ['positive', 'nonpositive'])
def test_gradcheck_double(shape, shared, mode):
    x = torch.randn(shape, dtype=torch.double)
    x = (x + 0.1 * x.sign()).requires_grad_()  # keep away from the kink
    w = slopes(shape[1], shared, mode, torch.double).requires_grad_()
    assert torch.autograd.gradcheck(PReLUFunction.apply, (x, w))


def test_chunked_backward_matches_one_chunk(monkeypatch):
    shape = (7, 4, 6, 5)
    x = torch.randn(shape, requires_grad=True)
    w = slopes(4, False, 'positive').requires_grad_()
    grad = torch.randn(shape)
    PReLUFunction.apply(x, w).backward(grad)
    whole = (x.grad.clone(), w.grad.clone())
    x.grad = w.grad = None
    monkeypatch.setattr(prelu_function, 'CHUNK_ELEMENTS', 2 * 4 * 6 * 5)
    PReLUFunction.apply(x, w).backward(grad)  # 4 chunks of <= 2 rows
    assert torch.equal(x.grad, whole[0])
    torch.testing.assert_close(w.grad, whole[1])


@pytest.mark.parametrize('mode,keeps', [('positive', 'output'),
                                        ('nonpositive', 'input')])
@pytest.mark.parametrize('fused', [True, False])
def test_saves_output_unless_a_slope_is_nonpositive(mode, keeps, fused):
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    h = x * 1  # a non-leaf input, as after a conv
    w = slopes(3, False, mode).requires_grad_()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
            lambda t: saved.append(t) or t, lambda t: t):
        y = fast_prelu(h, w, fused=fused)
    ptrs = {t.untyped_storage().data_ptr() for t in saved}
    target = y if keeps == 'output' else h
    assert target.untyped_storage().data_ptr() in ptrs
    assert len(saved) == 2  # the kept tensor and the slopes, nothing else


@pytest.mark.parametrize('need', ['input', 'weight'])
def test_one_gradient_only(need):
    x = torch.randn(3, 4, 5, requires_grad=need == 'input')
    w = slopes(4, False, 'positive').requires_grad_(need == 'weight')
    fast_prelu(x, w, fused=False).sum().backward()
    ref_x = x.detach().clone().requires_grad_(need == 'input')
    ref_w = w.detach().clone().requires_grad_(need == 'weight')
    torch.nn.functional.prelu(ref_x, ref_w).sum().backward()
    ours, ref = (x, ref_x) if need == 'input' else (w, ref_w)
    torch.testing.assert_close(ours.grad, ref.grad)


def test_no_graph_needed_uses_plain_prelu():
    w = slopes(4, False, 'positive')
    x = torch.randn(2, 4)
    assert fast_prelu(x, w).grad_fn is None
    with torch.no_grad():
        assert fast_prelu(x, w.requires_grad_()).grad_fn is None


@pytest.mark.parametrize('impl', ['fast', 'python'])
def test_inplace_change_of_output_is_an_error(impl):
    x = torch.randn(2, 3, 4, requires_grad=True)
    y = PReLU(3, impl=impl)(x)
    y.mul_(2)
    with pytest.raises(RuntimeError, match='modified by an inplace'):
        y.sum().backward()


@pytest.mark.parametrize('impl,grad_fn',
                         [('python', 'PReLUFunctionBackward'),
                          ('torch', 'PreluKernelBackward0')])
def test_constructor_switch(impl, grad_fn):
    act = build_activation(dict(type='PReLU', impl=impl), 3)
    assert act.impl == impl and f'impl={impl!r}' in repr(act)
    y = act(torch.randn(2, 3, requires_grad=True))
    assert y.grad_fn.name() == grad_fn


def test_global_switch_is_read_when_a_layer_is_built(monkeypatch):
    x = torch.randn(2, 3, requires_grad=True)
    assert get_prelu_impl() == 'fast'
    monkeypatch.setenv('MMPRELU_PRELU_IMPL', 'torch')
    act = PReLU(3)
    assert act.impl == 'torch'
    assert act(x).grad_fn.name() == 'PreluKernelBackward0'
    with prelu_impl('python'):  # the setter wins over the variable
        assert act(x).grad_fn.name() == 'PreluKernelBackward0'  # built
        assert PReLU(3)(x).grad_fn.name() == 'PReLUFunctionBackward'
    assert get_prelu_impl() == 'torch'
    # decided once: the variable is not read again by an existing layer
    monkeypatch.setenv('MMPRELU_PRELU_IMPL', 'cuda')
    assert act(x).grad_fn.name() == 'PreluKernelBackward0'
    with pytest.raises(ValueError, match="MMPRELU_PRELU_IMPL.*'fast'"):
        PReLU(3)
    # a layer's own impl ignores the global switch
    assert PReLU(3, impl='python')(x).grad_fn.name() == \
        'PReLUFunctionBackward'


@pytest.mark.parametrize('impl,grad_fn',
                         [('python', 'PReLUFunctionBackward'),
                          ('torch', 'PreluKernelBackward0')])
def test_override_for_an_existing_model(impl, grad_fn):
    model = nn.Sequential(PReLU(3, impl='fast'), nn.Sequential(
        PReLU(3, impl='fast'), PReLU(3, impl='torch')))
    before = [m.impl for m in model.modules() if isinstance(m, PReLU)]
    x = torch.randn(2, 3, requires_grad=True)
    with prelu_impl(impl, model):
        assert [m.impl for m in model.modules()
                if isinstance(m, PReLU)] == [impl] * 3
        assert model(x).grad_fn.name() == grad_fn
    assert [m.impl for m in model.modules()
            if isinstance(m, PReLU)] == before
    previous = set_model_prelu_impl(model, impl)
    assert model[1][1].impl == impl and previous['1.1'] == 'torch'
    restore_model_prelu_impl(model, previous)
    assert model[1][1].impl == 'torch'
    with pytest.raises(ValueError, match='set_model_prelu_impl'):
        set_model_prelu_impl(model, 'cuda')


def test_layers_pickled_before_build_time_impl_still_load():
    act = PReLU(3, impl='python')
    state = act.__dict__.copy()
    for key in ('_impl', '_stock', '_fused'):
        del state[key]
    state['impl'] = None  # the old layout: follow the global switch
    old = PReLU.__new__(PReLU)
    old.__setstate__(state)
    assert old.impl == 'fast'
    x = torch.randn(2, 3)
    assert torch.equal(old(x), act(x))


@pytest.mark.parametrize('bad', ['Fast', 'cuda', 1])
def test_bad_impl(bad):
    with pytest.raises(ValueError, match=r"valid choices are \('fast', "
                       r"'python', 'torch'\)"):
        PReLU(3, impl=bad)
    with pytest.raises(ValueError, match='set_prelu_impl'):
        set_prelu_impl(bad)


def test_state_dict_and_type_unchanged():
    act = PReLU(5)
    assert isinstance(act, nn.PReLU)
    assert list(act.state_dict()) == ['weight']
    stock = nn.PReLU(5, init=0.1)
    act.load_state_dict(stock.state_dict())
    assert torch.equal(act.weight, stock.weight)


def test_torchscript_and_onnx_use_stock_prelu():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), PReLU(4))
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(torch.jit.script(net)(x), net(x))
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
    torch.testing.assert_close(y, torch.nn.functional.prelu(x, act.weight))
    assert act.weight.grad is not None and x.grad is not None


@pytest.mark.parametrize('shared', [False, True])
@pytest.mark.parametrize('impl', ['fast', 'python'])
def test_channels_last_and_expanded_grad(shared, impl):
    x = torch.randn(3, 4, 5, 5).to(memory_format=torch.channels_last)
    ours, stock = pair(x.shape, shared, 'positive', impl)
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
