import inspect

import pytest
import torch
import torch.nn as nn
from mmpretrain.models.heads import StackedLinearClsHead
from mmpretrain.structures import DataSample

from mmprelu.models import PReLUNetHead
from mmprelu.models.utils import PReLU


@pytest.mark.parametrize('act_cfg,act_type', [(dict(type='PReLU'), PReLU),
                                              (dict(type='ReLU'), nn.ReLU)])
def test_structure_and_init(act_cfg, act_type):
    torch.manual_seed(0)
    head = PReLUNetHead(10, 300, mid_channels=(400, 400), act_cfg=act_cfg)
    head.init_weights()
    fcs = [block.fc for block in head.layers]
    assert [fc.out_features for fc in fcs] == [400, 400, 10]
    assert head.fc is head.layers[-1] and head.fc.act is None
    for block in head.layers[:-1]:
        assert isinstance(block.act, act_type)
        assert block.dropout.p == 0.5
        if act_type is PReLU:
            assert block.act.weight.numel() == 400  # channel-wise on fc too
    # §2.4: std 0.01 for fc1/fc2, 0.001 for the last fc, bias 0
    for fc, std, rel in zip(fcs, (0.01, 0.01, 0.001), (0.05, 0.05, 0.1)):
        assert fc.weight.std().item() == pytest.approx(std, rel=rel)
        assert torch.all(fc.bias == 0)


def test_takes_stacked_linear_cls_heads_arguments():
    """Same names, same meaning, same layers: only the defaults, the
    activation's slope count and the init differ."""
    ours = inspect.signature(PReLUNetHead).parameters
    theirs = inspect.signature(StackedLinearClsHead).parameters
    assert list(ours)[:6] == list(theirs)[:6]
    args = dict(
        num_classes=5,
        in_channels=12,
        mid_channels=[8, 6],
        dropout_rate=0.3,
        norm_cfg=dict(type='BN1d'),
        act_cfg=dict(type='ReLU'),
        topk=(1, 2))
    ours, theirs = PReLUNetHead(**args), StackedLinearClsHead(**args)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ({
        n: type(m)
        for n, m in ours.named_modules()
    } == {
        n: type(m)
        for n, m in theirs.named_modules()
    } | {
        '': type(ours)
    })
    assert ours.dropout_rate == 0.3 and list(ours.mid_channels) == [8, 6]
    shared = PReLUNetHead(
        5, 12, act_cfg=dict(type='PReLU', channel_shared=True))
    assert shared.layers[0].act.weight.numel() == 1


def test_loss_and_predict():
    head = PReLUNetHead(4, 12, mid_channels=(8, ), topk=(1, ))
    feats = (torch.randn(3, 12), )
    samples = [DataSample().set_gt_label(i % 4) for i in range(3)]
    losses = head.loss(feats, samples)
    assert losses['loss'].item() > 0
    preds = head.predict(feats)
    assert len(preds) == 3 and preds[0].pred_score.shape == (4, )


def test_wrong_feature_size():
    head = PReLUNetHead(4, 12)
    assert head(torch.randn(2, 12)).shape == (2, 4)  # a bare tensor too
    with pytest.raises(ValueError, match='in_channels'):
        head((torch.randn(2, 13), ))


def test_layerwise_normal_init():
    """One std per Linear in module order; None keeps a layer's values;
    also on mmpretrain's StackedLinearClsHead (no per-layer names)."""
    torch.manual_seed(0)
    head = StackedLinearClsHead(
        10,
        400, [400, 400],
        init_cfg=[
            dict(type='Constant', layer='Linear', val=1., bias=2.),
            dict(
                type='LayerwiseNormal',
                layer='Linear',
                bias=0.,
                std=(0.02, None, 0.004))
        ])
    head.init_weights()
    first, middle, last = (block.fc for block in head.layers)
    assert first.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert torch.all(middle.weight == 1) and torch.all(middle.bias == 2)
    assert last.weight.std().item() == pytest.approx(0.004, rel=0.1)
    assert torch.all(first.bias == 0) and torch.all(last.bias == 0)


@pytest.mark.parametrize('init_cfg,match', [
    (dict(std=(0.1, 0.1)), 'std has 2 values but .* has 3 Linear'),
    (dict(std=(0.1, ), layer=None), 'set `layer`'),
])
def test_layerwise_normal_errors(init_cfg, match):
    init_cfg = dict(dict(type='LayerwiseNormal', layer='Linear'), **init_cfg)
    head = PReLUNetHead(4, 12, mid_channels=(8, 8), init_cfg=init_cfg)
    with pytest.raises(ValueError, match=match):
        head.init_weights()
