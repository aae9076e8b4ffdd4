"""type='PReLUConverted': builds from configs, trains with no decay on the
slopes, initializes with MSRA after the model's own init, round-trips
checkpoints."""
import logging

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mmprelu
from mmprelu.engine.checkpoint import load_checkpoint_safely
from mmprelu.models.converters import MultiSitePReLU
from mmprelu.registry import MODELS

torch.set_num_threads(1)
init_default_scope('mmpretrain')
MMLogger.get_current_instance().setLevel(logging.WARNING)

BACKBONE = dict(type='ResNet', depth=50, stem_channels=8, base_channels=8)
PARTS = dict(
    backbone=BACKBONE,
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=5, in_channels=256))
OPTS = dict(scope='backbone', input_shape=(1, 3, 32, 32))


def build(**kwargs):
    cfg = dict(type='PReLUConverted', **PARTS, **OPTS)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_registered_and_exported():
    assert MODELS.get('PReLUConverted') is mmprelu.PReLUConverted
    assert 'PReLUConverted' in mmprelu.__all__


def test_nested_and_flat_forms_give_the_same_model():
    flat = build()
    nested = MODELS.build(
        dict(
            type='PReLUConverted',
            model=dict(type='ImageClassifier', **PARTS),
            data_preprocessor=dict(type='ClsDataPreprocessor'),
            **OPTS))
    assert type(flat).__name__ == type(nested).__name__ == 'ImageClassifier'
    assert list(flat.state_dict()) == list(nested.state_dict())
    assert isinstance(nested.backbone.layer1[0].relu, MultiSitePReLU)
    assert str(flat.prelu_report) == str(nested.prelu_report)


def test_bad_configs_are_named():
    with pytest.raises(ValueError, match='not both'):
        MODELS.build(
            dict(
                type='PReLUConverted',
                model=dict(type='ImageClassifier', **PARTS),
                backbone=BACKBONE))
    with pytest.raises(TypeError, match='chanel_shared'):
        build(chanel_shared=True)


def test_init_weights_runs_msra_after_the_models_own_init():
    """init=1 halves the variance of Eq. (15) compared with ResNet's own
    Kaiming (a = 0) init, which runs first."""
    model = build(init=1.0, msra=dict(mode='fan_out'))
    model.init_weights()
    conv = model.backbone.layer4[0].conv2  # 64 -> 64, 3x3
    expected = (2.0 / (2.0 * 64 * 9))**0.5
    assert conv.weight.std().item() == pytest.approx(expected, rel=0.05)
    assert model.head.fc.weight.std().item() == pytest.approx(0.01, rel=0.1)


def test_msra_none_keeps_the_models_init():
    model = build(init=1.0, msra=None)
    model.init_weights()
    conv = model.backbone.layer4[0].conv2
    kaiming = (2.0 / (64 * 9))**0.5
    assert conv.weight.std().item() == pytest.approx(kaiming, rel=0.05)


def test_pretrained_backbone_is_not_reinitialized(tmp_path):
    stock = MODELS.build(
        dict(
            type='ResNet',
            **{
                k: v
                for k, v in BACKBONE.items() if k != 'type'
            }))
    path = tmp_path / 'stock_relu_resnet.pth'
    torch.save(dict(state_dict=stock.state_dict()), path)
    backbone = dict(
        BACKBONE, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model = build(backbone=backbone)
    model.init_weights()
    assert torch.equal(model.backbone.conv1.weight, stock.conv1.weight)
    sites = model.backbone.layer1[0].relu.sites
    assert all(torch.all(s.weight == 0.25) for s in sites)


def test_slopes_get_no_weight_decay():
    model = build()
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(
                type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
            constructor='PReLUOptimWrapperConstructor'))
    slopes = {
        id(p)
        for m in model.modules() if isinstance(m, nn.PReLU)
        for p in m.parameters()
    }
    assert len(slopes) == model.prelu_report.num_sites
    decay = {
        id(p): g['weight_decay']
        for g in wrapper.optimizer.param_groups
        for p in g['params']
    }
    assert all(decay[i] == 0 for i in slopes)
    assert decay[id(model.backbone.layer1[0].relu.sites[2].weight)] == 0
    assert decay[id(model.backbone.conv1.weight)] == 1e-4


def test_checkpoint_round_trip(tmp_path):
    model = build()
    for p in model.parameters():
        if p.dim() == 1:
            nn.init.uniform_(p, 0.0, 0.5)
    path = tmp_path / 'converted.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    fresh = build()
    fresh.load_state_dict(load_checkpoint_safely(path)['state_dict'])
    model.eval()
    fresh.eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(model(x, mode='tensor'), fresh(x, mode='tensor'))
    key = 'backbone.layer1.0.relu.sites.2.weight'
    assert torch.equal(fresh.state_dict()[key], model.state_dict()[key])


def test_mmpretrain_get_model(tmp_path):
    from mmengine.config import Config
    from mmpretrain.apis import get_model
    cfg = Config(
        dict(
            model=dict(type='PReLUConverted', **PARTS, **OPTS),
            data_preprocessor=dict(num_classes=5)))
    model = get_model(cfg)
    assert model.data_preprocessor.__class__.__name__ == 'ClsDataPreprocessor'
    assert model.prelu_report.num_sites == 49
