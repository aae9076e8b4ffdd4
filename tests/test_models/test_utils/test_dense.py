"""Dense test (§5.1) under mixed precision: the conv form of fc1 casts like
autocast's F.linear (CPU bf16 autocast stands in for CUDA fp16 / bf16)."""

import pytest
import torch

from mmprelu.models import (PReLUNetClassifier, PReLUNetHead,
                            SpatialPyramidPooling)
from mmprelu.models.utils.dense import (dense_logits_conv,
                                        dense_logits_windows)

LEVELS = (7, 3, 2, 1)
TINY = dict(channels=(8, 16, 16), depths=(1, 1, 1), kernel_sizes=(7, 3, 3),
            strides=(2, 1, 1), pools=(None, (2, 2), (2, 2)))
BF16 = dict(device_type='cpu', dtype=torch.bfloat16)


def bf16_close(out, ref, scale):
    """Within bf16 precision: 2 % of the largest reference logit (bf16
    keeps 8 bits; fc1 sums ~1000 products)."""
    torch.testing.assert_close(out.float(), ref.float(), rtol=0,
                               atol=0.02 * scale)


def make_head(act_cfg):
    torch.manual_seed(0)
    head = PReLUNetHead(10, 16 * sum(n * n for n in LEVELS),
                        hidden_channels=(24, 24), act_cfg=act_cfg,
                        init_cfg=dict(type='Normal', std=0.1,
                                      layer='Linear'))
    head.init_weights()
    return head.eval()


@pytest.mark.parametrize('act_cfg', [dict(type='PReLU'), dict(type='ReLU')])
@pytest.mark.parametrize('map_dtype', [torch.bfloat16, torch.float32])
@pytest.mark.parametrize('stride,budget', [(1, 0), (2, 0), (1, 2000)])
def test_conv_form_under_autocast_equals_windows(act_cfg, map_dtype, stride,
                                                 budget):
    """A bf16 map (what the trunk gives under autocast) used to raise
    ``mat1 and mat2 must have the same dtype`` in fc1's ``addmm_``;
    ``budget`` splits the windows into several bands."""
    head, neck = make_head(act_cfg), SpatialPyramidPooling(LEVELS)
    torch.manual_seed(1)
    fmap = torch.randn(1, 16, 24, 30).to(map_dtype)
    with torch.no_grad():
        ref = dense_logits_windows(fmap.float(), neck, head, 14, stride)
        with torch.autocast(**BF16):
            fast = dense_logits_conv(fmap, neck, head, 14, stride, budget)
            windows = dense_logits_windows(fmap, neck, head, 14, stride)
    assert fast.shape == windows.shape == ref.shape
    assert fast.dtype == windows.dtype == torch.bfloat16
    scale = ref.abs().max().item()
    bf16_close(fast, windows, scale)
    bf16_close(fast, ref, scale)


def test_no_cast_outside_autocast():
    """fp32 stays fp32 (bitwise what it was); half-precision models (e.g.
    ``model.half()``) compute in their own dtype."""
    head, neck = make_head(dict(type='PReLU')), SpatialPyramidPooling(LEVELS)
    fmap = torch.randn(1, 16, 20, 20)
    with torch.no_grad():
        assert dense_logits_conv(fmap, neck, head).dtype == torch.float32
        head = head.to(torch.bfloat16)
        out = dense_logits_conv(fmap.bfloat16(), neck, head)
    assert out.dtype == torch.bfloat16


def test_classifier_dense_test_under_bf16_autocast(monkeypatch):
    """128 x 128 input: a 16 x 16 map, 100 windows of 7 (> chunk 64), so
    ``dense_impl='auto'`` takes the conv form, as at scales 384 / 480 on
    full-size models; its scores match the explicit windows'."""
    from mmprelu.models.classifiers import prelu_net_classifier as module
    torch.manual_seed(0)
    model = PReLUNetClassifier(
        backbone=dict(type='PReLUNet', arch=TINY),
        neck=dict(type='SpatialPyramidPooling', levels=LEVELS),
        head=dict(type='PReLUNetHead', num_classes=10,
                  in_channels=16 * sum(n * n for n in LEVELS),
                  hidden_channels=(24, 24)),
        test_cfg=dict(mode='dense', window=7))
    model.init_weights()
    model.eval()
    used = []
    real = module.dense_logits_conv
    monkeypatch.setattr(module, 'dense_logits_conv',
                        lambda *a, **k: used.append('conv') or real(*a, **k))
    img = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        ref = model.predict(img)
        with torch.autocast(**BF16):
            auto = model.predict(img)
            model.test_cfg['dense_impl'] = 'windows'
            windows = model.predict(img)
    assert used == ['conv'] * 4  # 2 images in fp32, 2 under autocast
    for a, w, r in zip(auto, windows, ref):
        bf16_close(a.pred_score, w.pred_score, r.pred_score.max().item())
        bf16_close(a.pred_score, r.pred_score, r.pred_score.max().item())
        assert a.pred_score.sum().item() == pytest.approx(1, abs=1e-2)
