"""Dense test (§5.1): the conv form (max pools + dilated F.conv2d) equals
the explicit windows, in fp32 and under autocast (CPU bf16 autocast stands
in for CUDA fp16 / bf16)."""

import pytest
import torch

from mmprelu.models import (DenseWindowTTA, PReLUNetClassifier, PReLUNetHead,
                            SpatialPyramidPooling)
from mmprelu.models.utils.dense import (dense_logits_conv,
                                        dense_logits_windows, window_grid)
from tiny_classifier import TINY

LEVELS = (7, 3, 2, 1)
BF16 = dict(device_type='cpu', dtype=torch.bfloat16)
ACTS = [
    dict(type='PReLU'),
    dict(type='ReLU'),
    dict(type='PReLU', channel_shared=True)
]


def bf16_close(out, ref, scale):
    """Within bf16 precision: 2 % of the largest reference logit (bf16
    keeps 8 bits; fc1 sums ~1000 products)."""
    torch.testing.assert_close(
        out.float(), ref.float(), rtol=0, atol=0.02 * scale)


def make_head(act_cfg, norm_cfg=None):
    torch.manual_seed(0)
    head = PReLUNetHead(
        10,
        16 * sum(n * n for n in LEVELS),
        mid_channels=(24, 24),
        act_cfg=act_cfg,
        norm_cfg=norm_cfg,
        init_cfg=dict(type='Normal', std=0.1, layer='Linear'))
    head.init_weights()
    if act_cfg['type'] == 'PReLU':  # random slopes, not all 0.25
        for block in head.layers[:-1]:
            block.act.weight.data.uniform_(-0.5, 1.0)
    return head.eval()


@pytest.mark.parametrize('act_cfg', ACTS)
@pytest.mark.parametrize('size', [(14, 14), (15, 22), (30, 17), (9, 26),
                                  (40, 40)])
@pytest.mark.parametrize('stride', [1, 2, 3])
def test_dense_conv_equals_explicit_windows(act_cfg, size, stride):
    """Two images at once; every window equals the one cut by hand."""
    head, neck = make_head(act_cfg), SpatialPyramidPooling(LEVELS)
    fmap = torch.randn(2, 16, *size)
    with torch.no_grad():
        fast = dense_logits_conv(fmap, neck, head, 14, stride)
        ref = dense_logits_windows(fmap, neck, head, 14, stride, chunk=7)
        _, _, ny, nx = window_grid(*size, 14, stride)
        assert fast.shape == ref.shape == (2, ny * nx, 10)
        torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)
        y, x = (ny - 1) * stride, (nx - 1) * stride
        win = fmap[1:, :, y:y + min(14, size[0]), x:x + min(14, size[1])]
        torch.testing.assert_close(
            fast[1, -1], head(neck((win, )))[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('autocast', [False, True])
def test_kernel_in_pieces(monkeypatch, autocast):
    """fc1's kernel split into pieces of output channels (1 channel for
    the 7x7 level, 6 for 3x3, ...): the same logits, fp32 or bf16."""
    from mmprelu.models.utils import dense
    head, neck = make_head(dict(type='PReLU')), SpatialPyramidPooling(LEVELS)
    fmap = torch.randn(2, 16, 17, 19)
    with torch.no_grad(), torch.autocast(**BF16, enabled=autocast):
        whole = dense_logits_conv(fmap, neck, head)
        monkeypatch.setattr(dense, 'KERNEL_CHUNK', 1000)
        pieces = dense_logits_conv(fmap, neck, head)
    assert pieces.dtype == (torch.bfloat16 if autocast else torch.float32)
    torch.testing.assert_close(pieces, whole, atol=1e-5, rtol=1e-5)


def test_norm_layers_of_the_head_are_applied():
    """``norm_cfg`` (StackedLinearClsHead's) sits between fc1 and its
    activation in both forms."""
    head = make_head(dict(type='ReLU'), norm_cfg=dict(type='BN1d'))
    head.layers[0].norm.running_mean.uniform_(-1, 1)
    neck, fmap = SpatialPyramidPooling(LEVELS), torch.randn(1, 16, 18, 20)
    with torch.no_grad():
        torch.testing.assert_close(
            dense_logits_conv(fmap, neck, head),
            dense_logits_windows(fmap, neck, head),
            atol=1e-5,
            rtol=1e-5)


@pytest.mark.parametrize('act_cfg', ACTS[:2])
@pytest.mark.parametrize('map_dtype', [torch.bfloat16, torch.float32])
@pytest.mark.parametrize('stride', [1, 2])
def test_conv_form_under_autocast_equals_windows(act_cfg, map_dtype, stride):
    """A bf16 map (what the trunk gives under autocast) with fp32
    weights: autocast casts the convolutions as it casts the windows'
    F.linear."""
    head, neck = make_head(act_cfg), SpatialPyramidPooling(LEVELS)
    torch.manual_seed(1)
    fmap = torch.randn(1, 16, 24, 30).to(map_dtype)
    with torch.no_grad():
        ref = dense_logits_windows(fmap.float(), neck, head, 14, stride)
        with torch.autocast(**BF16):
            fast = dense_logits_conv(fmap, neck, head, 14, stride)
            windows = dense_logits_windows(fmap, neck, head, 14, stride)
    assert fast.shape == windows.shape == ref.shape
    assert fast.dtype == windows.dtype == torch.bfloat16
    scale = ref.abs().max().item()
    bf16_close(fast, windows, scale)
    bf16_close(fast, ref, scale)


def test_no_cast_outside_autocast():
    """fp32 stays fp32; half-precision models (e.g. ``model.half()``)
    compute in their own dtype."""
    head, neck = make_head(dict(type='PReLU')), SpatialPyramidPooling(LEVELS)
    fmap = torch.randn(1, 16, 20, 20)
    with torch.no_grad():
        assert dense_logits_conv(fmap, neck, head).dtype == torch.float32
        head = head.to(torch.bfloat16)
        out = dense_logits_conv(fmap.bfloat16(), neck, head)
    assert out.dtype == torch.bfloat16


def test_conv_form_refuses_adaptive_bins():
    neck = SpatialPyramidPooling(LEVELS, mode='adaptive')
    with pytest.raises(ValueError, match="mode='sppnet'"):
        dense_logits_conv(
            torch.randn(1, 16, 20, 20), neck, make_head(dict(type='ReLU')))


def test_dense_test_under_bf16_autocast(monkeypatch):
    """128 x 128 input: a 16 x 16 map, 100 windows of 7 (> chunk 64), so
    ``dense_impl='auto'`` takes the conv form, as at scales 384 / 480 on
    full-size models; its scores match the explicit windows'."""
    from mmprelu.models.tta import dense_window_tta as module
    torch.manual_seed(0)
    model = PReLUNetClassifier(
        backbone=dict(type='PReLUNet', arch=TINY),
        neck=dict(type='SpatialPyramidPooling', levels=LEVELS),
        head=dict(
            type='PReLUNetHead',
            num_classes=10,
            in_channels=16 * sum(n * n for n in LEVELS),
            mid_channels=(24, 24)))
    model.init_weights()
    tta = DenseWindowTTA(model.eval(), window=7)
    used = []
    real = module.dense_logits_conv
    monkeypatch.setattr(module, 'dense_logits_conv',
                        lambda *a, **k: used.append('conv') or real(*a, **k))
    img = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        ref = tta.predict(img)
        with torch.autocast(**BF16):
            auto = tta.predict(img)
            tta.dense_impl = 'windows'
            windows = tta.predict(img)
    assert used == ['conv'] * 2  # one batch in fp32, one under autocast
    for a, w, r in zip(auto, windows, ref):
        bf16_close(a.pred_score, w.pred_score, r.pred_score.max().item())
        bf16_close(a.pred_score, r.pred_score, r.pred_score.max().item())
        assert a.pred_score.sum().item() == pytest.approx(1, abs=1e-2)
