"""The fused C++ PReLU kernel (csrc/prelu_cpu.cpp via prelu_ext.py): same
numbers as nn.PReLU in every layout, thread-count independent, in place
where safe, and a clear fallback when it cannot be built."""
import shutil
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

import mmprelu.models.utils.prelu_ext as prelu_ext
from mmprelu.models.utils import PReLU, fast_prelu

FUSED = 'CppNode<mmprelu::FusedPReLU>'

needs_compiler = pytest.mark.skipif(
    shutil.which('c++') is None and shutil.which('g++') is None,
    reason='no C++ compiler on PATH: the fused kernel cannot be built here '
    '(impl="fast" then falls back to the Python function, tested below)')


@pytest.fixture
def op():
    """The built op (fails, not skips, when a compiler exists but the
    build breaks)."""
    assert prelu_ext.load_fused_prelu(), prelu_ext.fused_prelu_error()
    return torch.ops.mmprelu_cpu.prelu


def slopes(n, mode, dtype):
    w = torch.rand(n, generator=torch.Generator().manual_seed(n),
                   dtype=dtype) + 0.05
    if mode == 'nonpositive':
        w[0] = -0.3
        w[-1] = 0.0 if n > 1 else w[-1]
    return w


LAYOUTS = {
    'nchw': lambda t: t,
    'channels_last': lambda t: t.to(memory_format=torch.channels_last),
    'transposed': lambda t: t.transpose(2, 3),  # neither: copied first
}


@needs_compiler
@pytest.mark.parametrize('shape', [(6, 5), (3, 5, 7), (2, 5, 4, 3),
                                   (2, 3, 2, 3, 4), (3, 5, 1, 1)])
@pytest.mark.parametrize('shared', [False, True])
@pytest.mark.parametrize('mode', ['positive', 'nonpositive'])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_matches_stock(op, shape, shared, mode, dtype):
    w = slopes(1 if shared else shape[1], mode, dtype)
    x = torch.randn(shape, dtype=dtype)
    x.view(-1)[:3] = 0.0  # exact zeros take the a * g branch
    grad = torch.randn(shape, dtype=dtype)
    xa, wa = x.clone().requires_grad_(), w.clone().requires_grad_()
    xb, wb = x.clone().requires_grad_(), w.clone().requires_grad_()
    ya = fast_prelu(xa, wa)
    yb = torch.prelu(xb, wb)
    assert FUSED in ya.grad_fn.name()
    assert torch.equal(ya, yb)  # same expression: bitwise equal
    ya.backward(grad)
    yb.backward(grad)
    assert torch.equal(xa.grad, xb.grad)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(wa.grad, wb.grad, rtol=tol, atol=tol)


@needs_compiler
@pytest.mark.parametrize('layout', list(LAYOUTS))
@pytest.mark.parametrize('shared', [False, True])
def test_memory_layouts(op, layout, shared):
    x = LAYOUTS[layout](torch.randn(4, 6, 5, 7))
    w = slopes(1 if shared else 6, 'positive', torch.float32)
    xa, wa = x.detach().clone().requires_grad_(), w.clone().requires_grad_()
    xb, wb = x.detach().clone().requires_grad_(), w.clone().requires_grad_()
    grad = LAYOUTS[layout](torch.randn(4, 6, 5, 7))
    ya = op(xa, wa, False)
    assert torch.equal(ya, torch.prelu(xb, wb))
    if layout == 'channels_last':  # no silent copy to NCHW
        assert ya.is_contiguous(memory_format=torch.channels_last)
    ya.backward(grad)
    torch.prelu(xb, wb).backward(grad)
    assert torch.equal(xa.grad, xb.grad)
    torch.testing.assert_close(wa.grad, wb.grad)


@needs_compiler
@pytest.mark.parametrize('shape', [(3, 4), (2, 3, 5, 5)])
@pytest.mark.parametrize('shared', [False, True])
@pytest.mark.parametrize('mode', ['positive', 'nonpositive'])
def test_gradcheck_double(op, shape, shared, mode):
    x = torch.randn(shape, dtype=torch.double)
    x = (x + 0.1 * x.sign()).requires_grad_()  # keep away from the kink
    w = slopes(1 if shared else shape[1], mode,
               torch.double).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: op(a, b, False), (x, w))


@needs_compiler
@pytest.mark.parametrize('layout', ['nchw', 'channels_last'])
def test_slope_gradient_independent_of_threads(op, layout):
    x = LAYOUTS[layout](torch.randn(8, 16, 20, 20)).requires_grad_()
    w = slopes(16, 'positive', torch.float32).requires_grad_()
    grad = torch.randn(8, 16, 20, 20)
    results = []
    threads = torch.get_num_threads()
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            x.grad = w.grad = None
            op(x * 1, w, False).backward(grad)
            results.append((x.grad.clone(), w.grad.clone()))
    finally:
        torch.set_num_threads(threads)
    for gx, gw in results[1:]:
        assert torch.equal(gx, results[0][0])
        assert torch.equal(gw, results[0][1])  # bitwise: fixed partials


@needs_compiler
@pytest.mark.parametrize('need', ['input', 'weight', 'both'])
def test_one_gradient_only(op, need):
    x = torch.randn(3, 4, 5, requires_grad=need != 'weight')
    w = slopes(4, 'positive', torch.float32).requires_grad_(need != 'input')
    op(x, w, False).sum().backward()
    rx = x.detach().clone().requires_grad_(x.requires_grad)
    rw = w.detach().clone().requires_grad_(w.requires_grad)
    torch.prelu(rx, rw).sum().backward()
    for ours, ref in ((x, rx), (w, rw)):
        assert (ours.grad is None) == (ref.grad is None)
        if ref.grad is not None:
            torch.testing.assert_close(ours.grad, ref.grad)


@needs_compiler
@pytest.mark.parametrize('mode,in_place', [('positive', True),
                                           ('nonpositive', False)])
def test_inplace_where_safe(op, mode, in_place):
    leaf = torch.randn(2, 3, 4, 4, requires_grad=True)
    w = slopes(3, mode, torch.float32).requires_grad_()
    h = leaf * 2  # non-leaf, as after a conv
    ptr, version = h.data_ptr(), h._version
    y = PReLU(3, inplace=True)
    y.weight.data.copy_(w)
    out = y(h)
    assert (out.data_ptr() == ptr) == in_place  # input kept if a <= 0
    assert (h._version > version) == in_place
    out.sum().backward()
    ref = leaf.detach().clone().requires_grad_()
    torch.prelu(ref * 2, w).sum().backward()
    torch.testing.assert_close(leaf.grad, ref.grad)
    # leaves and views are never written over
    x = torch.randn(2, 3, requires_grad=True)
    assert PReLU(3, inplace=True)(x).data_ptr() != x.data_ptr()
    base = leaf * 1
    view = base[:, :2]
    assert op(view, w[:2].detach(), False).data_ptr() != view.data_ptr()
    assert PReLU(2, inplace=True)(view).data_ptr() != view.data_ptr()
    # the op itself decides, whoever calls it
    assert op(view, w[:2].detach(), True).data_ptr() != view.data_ptr()
    assert op(x, w.detach(), True).data_ptr() != x.data_ptr()


@needs_compiler
def test_inplace_input_needed_elsewhere_raises(op):
    x = torch.randn(2, 3, 4, requires_grad=True)
    h = x * 1
    s = h * h  # saves h for its backward
    y = PReLU(3, inplace=True)(h)
    with pytest.raises(RuntimeError, match='modified by an inplace'):
        (y.sum() + s.sum()).backward()


@needs_compiler
def test_bad_inputs_name_the_problem(op):
    w = torch.ones(3)
    with pytest.raises(RuntimeError, match='weight has 2 elements'):
        op(torch.randn(2, 3), torch.ones(2), False)
    with pytest.raises(RuntimeError, match='float32/float64'):
        op(torch.randn(2, 3).half(), w.half(), False)
    with pytest.raises(RuntimeError, match='>= 2 dims'):
        op(torch.randn(3), w, False)


@pytest.mark.parametrize('impl,expected', [('fast', FUSED),
                                           ('python', 'PReLUFunctionBackward'),
                                           ('torch', 'PreluKernelBackward0')])
def test_impl_switch(impl, expected, monkeypatch):
    if impl == 'fast' and not prelu_ext.load_fused_prelu():
        expected = 'PReLUFunctionBackward'  # the documented fallback
    y = PReLU(3, impl=impl)(torch.randn(2, 3, 4, requires_grad=True))
    assert expected in y.grad_fn.name()
    monkeypatch.setenv('MMPRELU_PRELU_IMPL', impl)
    assert expected in PReLU(3)(torch.randn(2, 3, requires_grad=True)
                                ).grad_fn.name()


def test_build_failure_warns_once_and_falls_back(monkeypatch, tmp_path):
    monkeypatch.setattr(prelu_ext, '_state', {'loaded': None, 'error': None,
                                              'path': None})
    monkeypatch.setattr(prelu_ext, '_registered', lambda: False)
    monkeypatch.setattr(prelu_ext, 'SOURCE', str(tmp_path / 'missing.cpp'))
    monkeypatch.setenv('TORCH_EXTENSIONS_DIR', str(tmp_path / 'ext'))
    x = torch.randn(2, 3, 4, requires_grad=True)
    w = torch.full((3, ), 0.25, requires_grad=True)
    with pytest.warns(RuntimeWarning, match="(?s)missing.cpp.*impl='python'"):
        y = fast_prelu(x, w)
    assert y.grad_fn.name() == 'PReLUFunctionBackward'
    assert 'missing.cpp' in prelu_ext.fused_prelu_error()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no second warning, no retry
        fast_prelu(x, w).sum().backward()
    torch.testing.assert_close(x.grad, torch.where(x > 0, 1.0, 0.25))


@needs_compiler
def test_command_line_builds_and_reports(op):
    out = subprocess.run(
        [sys.executable, '-m', 'mmprelu.models.utils.prelu_ext'],
        capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert 'ready' in out.stdout and prelu_ext.extension_name() in out.stdout


def test_source_ships_with_the_package():
    import os.path as osp
    assert osp.isfile(prelu_ext.SOURCE)
    assert prelu_ext.build_directory().endswith(prelu_ext.extension_name())
    assert torch.__version__.split('+')[0].replace('.', '_') in \
        prelu_ext.extension_name()


def test_stock_module_untouched():
    # nn.PReLU itself is not patched: the fused path is only ours
    y = nn.PReLU(3)(torch.randn(2, 3, requires_grad=True))
    assert y.grad_fn.name() == 'PreluKernelBackward0'
