"""ChannelsLastHook: NHWC weights before train / val / test, same outputs."""
import copy
import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.registry import init_default_scope

from mmprelu.engine.hooks import ChannelsLastHook
from mmprelu.engine.hooks.channels_last_hook import is_channels_last
from mmprelu.models import PReLUNet
from mmprelu.registry import HOOKS


def tiny_backbone():
    torch.manual_seed(0)
    arch = dict(channels=(8, 16), depths=(1, 2), kernel_sizes=(7, 3),
                strides=(2, 1), pools=(None, (2, 2)))
    model = PReLUNet(arch)
    model.init_weights()
    return model.eval()


def fake_runner(model):
    return SimpleNamespace(model=model, logger=logging.getLogger('test'))


@pytest.mark.parametrize('stage', ['before_train', 'before_val',
                                   'before_test'])
def test_weights_become_channels_last(stage):
    model = tiny_backbone()
    convs = [p for p in model.parameters() if p.dim() == 4]
    assert convs and not is_channels_last(model)
    params_before = list(model.parameters())
    getattr(ChannelsLastHook(), stage)(fake_runner(model))
    assert is_channels_last(model)
    assert all(p.is_contiguous(memory_format=torch.channels_last)
               and not p.is_contiguous() for p in convs)
    # the same Parameter objects (an optimizer built before still holds
    # them); the 1-D PReLU slopes are untouched
    assert all(a is b for a, b in zip(params_before, model.parameters()))
    assert all(p.is_contiguous() for p in model.parameters() if p.dim() < 4)


def test_forward_equals_contiguous_model():
    model = tiny_backbone()
    reference = copy.deepcopy(model)
    init_default_scope('mmpretrain')  # configs' scope (a test may leave mmdet)
    HOOKS.build(dict(type='ChannelsLastHook')).before_train(
        fake_runner(model))
    x = torch.randn(2, 3, 40, 48)
    with torch.no_grad():
        out, ref = model(x)[-1], reference(x)[-1]
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


def test_disabled_stage_leaves_model_alone():
    model = tiny_backbone()
    ChannelsLastHook(val=False).before_val(fake_runner(model))
    assert not is_channels_last(model)


def test_bad_argument_is_named():
    with pytest.raises(ValueError, match='train'):
        ChannelsLastHook(train='yes')
