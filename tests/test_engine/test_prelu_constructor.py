import pytest
import torch.nn as nn
from mmengine.registry import init_default_scope

from mmprelu.models import PReLUNet
from mmprelu.registry import OPTIM_WRAPPER_CONSTRUCTORS

TINY = dict(channels=(4, 8), depths=(1, 2), kernel_sizes=(3, 3),
            strides=(1, 1), pools=(None, (2, 2)))


def build(model, paramwise_cfg=None, wd=5e-4):
    init_default_scope('mmpretrain')
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='PReLUOptimWrapperConstructor',
            optim_wrapper_cfg=dict(
                optimizer=dict(type='SGD', lr=0.01, momentum=0.9,
                               weight_decay=wd)),
            paramwise_cfg=paramwise_cfg))
    return constructor(model).optimizer


def decay_by_param(optimizer):
    return {
        id(p): group['weight_decay']
        for group in optimizer.param_groups for p in group['params']
    }


class ZooLike(nn.Module):
    """Slopes with names that match no pattern: found by type only."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(4))
        self.classifier = nn.Linear(4, 2)
        self.gate = nn.PReLU()


@pytest.mark.parametrize('model_fn', [
    lambda: PReLUNet(TINY),
    lambda: PReLUNet(TINY, act_cfg=dict(type='PReLU', channel_shared=True)),
    ZooLike,
])
def test_no_decay_on_slopes(model_fn):
    model = model_fn()
    optimizer = build(model)
    decays = decay_by_param(optimizer)
    slopes = {id(p) for m in model.modules() if isinstance(m, nn.PReLU)
              for p in m.parameters()}
    assert slopes
    assert len(decays) == len(list(model.parameters()))
    for p in model.parameters():
        assert decays[id(p)] == (0.0 if id(p) in slopes else 5e-4)
    # plain dicts, not mmengine ConfigDicts: torch.compile traces step()
    assert all(type(g) is dict for g in optimizer.param_groups)
    optimizer.step()  # the rebuilt groups still drive the optimizer


def test_relu_model_keeps_all_decay():
    model = PReLUNet(TINY, act_cfg=dict(type='ReLU'))
    assert set(decay_by_param(build(model)).values()) == {5e-4}


def test_slope_decay_mult_and_other_rules_kept():
    model = ZooLike()
    optimizer = build(
        model,
        dict(slope_decay_mult=0.5, custom_keys={'classifier': dict(
            lr_mult=10.)}))
    lrs = {id(p): g['lr'] for g in optimizer.param_groups
           for p in g['params']}
    decays = decay_by_param(optimizer)
    assert decays[id(model.gate.weight)] == pytest.approx(2.5e-4)
    assert lrs[id(model.classifier.weight)] == pytest.approx(0.1)
    assert lrs[id(model.gate.weight)] == pytest.approx(0.01)


def test_bad_slope_type():
    with pytest.raises((ValueError, KeyError)):
        build(ZooLike(), dict(slope_module_types=['NotAModule']))
