"""The backbone contract a detector relies on (out_indices, strides,
out_channels, frozen_stages), for a PReLUNet built from a downstream
registry scope as mmdet builds it (``type='mmprelu.PReLUNet'`` etc.)."""
import pytest
import torch
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import Registry

import mmprelu

DOWNSTREAM = Registry('model', parent=ROOT_MODELS, scope='downstream_contract')
# arch C's layout at a few channels: strides 2, 4, 8, 16
TINY = dict(
    channels=(4, 6, 8, 10),
    depths=(1, 2, 1, 1),
    kernel_sizes=(7, 3, 3, 3),
    strides=(2, 1, 1, 1),
    pools=(None, (2, 2), (2, 2), (2, 2)))


@pytest.mark.parametrize('type_name',
                         ['mmprelu.PReLUNet', 'mmpretrain.PReLUNet'])
@pytest.mark.parametrize('out_indices,frozen', [((1, 2, 3), 1), ((2, 3), 0),
                                                ((-1, ), -1),
                                                ((0, 1, 2, 3), 3)])
def test_downstream_backbone_contract(type_name, out_indices, frozen):
    model = DOWNSTREAM.build(
        dict(
            type=type_name,
            arch=TINY,
            out_indices=out_indices,
            frozen_stages=frozen))
    assert isinstance(model, mmprelu.PReLUNet)
    assert model.strides == (2, 4, 8, 16)
    assert model.out_channels == TINY['channels']
    model.init_weights()  # 'MSRA' resolved from this scope
    model.train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    feats = model(x)
    indices = [i % 4 for i in out_indices]
    assert isinstance(feats, tuple) and len(feats) == len(indices)
    for feat, i in zip(feats, indices):
        assert feat.shape == (2, model.out_channels[i], 64 // model.strides[i],
                              64 // model.strides[i])
    sum(f.sum() for f in feats).backward()
    assert x.grad is not None  # frozen stages still pass gradients on
    for i, stage in enumerate(model.stages):
        params = list(stage.parameters())
        trainable = i > frozen and i <= max(indices)
        assert stage.training == (i > frozen)
        assert all(p.requires_grad == (i > frozen) for p in params)
        assert all((p.grad is not None) == trainable for p in params)
