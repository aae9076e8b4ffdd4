import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

from mmprelu.engine.optimizers import prelu_constructor
from mmprelu.models import PReLUNet
from mmprelu.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TINY = dict(
    channels=(4, 8),
    depths=(1, 2),
    kernel_sizes=(3, 3),
    strides=(1, 1),
    pools=(None, (2, 2)))


def build(model, paramwise_cfg=None, wd=5e-4):
    init_default_scope('mmpretrain')
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='PReLUOptimWrapperConstructor',
            optim_wrapper_cfg=dict(
                optimizer=dict(
                    type='SGD', lr=0.01, momentum=0.9, weight_decay=wd)),
            paramwise_cfg=paramwise_cfg))
    return constructor(model).optimizer


def decay_by_param(optimizer):
    return {
        id(p): group['weight_decay']
        for group in optimizer.param_groups
        for p in group['params']
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
    slopes = {
        id(p)
        for m in model.modules() if isinstance(m, nn.PReLU)
        for p in m.parameters()
    }
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
        dict(
            slope_decay_mult=0.5,
            custom_keys={'classifier': dict(lr_mult=10.)}))
    lrs = {id(p): g['lr'] for g in optimizer.param_groups for p in g['params']}
    decays = decay_by_param(optimizer)
    assert decays[id(model.gate.weight)] == pytest.approx(2.5e-4)
    assert lrs[id(model.classifier.weight)] == pytest.approx(0.1)
    assert lrs[id(model.gate.weight)] == pytest.approx(0.01)


def test_bad_slope_type():
    with pytest.raises((ValueError, KeyError)):
        build(ZooLike(), dict(slope_module_types=['NotAModule']))


def model_c_on_meta():
    """Full-size model C (Table 3), no memory."""
    from mmengine.config import Config
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/models/prelu_net_c.py'))
    with torch.device('meta'):
        return MODELS.build(cfg.model)


def unmerged(monkeypatch, model, paramwise_cfg):
    """The optimizer as built before groups were merged."""
    with monkeypatch.context() as patch:
        patch.setattr(prelu_constructor, 'group_members',
                      lambda groups, cfg: [[i] for i in range(len(groups))])
        return build(model, paramwise_cfg)


def settings_by_param(optimizer):
    return {
        id(p): {
            k: v
            for k, v in g.items() if k != 'params'
        }
        for g in optimizer.param_groups
        for p in g['params']
    }


@pytest.mark.parametrize(
    'paramwise_cfg,expected',
    [
        (None, 2),  # decayed weights, slopes
        (dict(slope_decay_mult=0.5), 2),
        (dict(flat_decay_mult=0.), 2),  # biases join the slopes (no decay)
        (dict(bias_lr_mult=2., bias_decay_mult=0.), 3),
        (dict(
            custom_keys={
                'head': dict(lr_mult=10.),
                'backbone.stages.0': dict(decay_mult=0.)
            },
            slope_decay_mult=0.), 5),  # + head's weights and slopes
    ])
def test_model_c_groups_merged_with_same_settings(monkeypatch, paramwise_cfg,
                                                  expected):
    model = model_c_on_meta()
    before = unmerged(monkeypatch, model, paramwise_cfg)
    after = build(model, paramwise_cfg)
    params = list(model.parameters())
    assert len(before.param_groups) == len(params) > 60
    assert len(after.param_groups) == expected
    # every parameter once, each with exactly its former settings (lr,
    # weight decay, momentum, nesterov, lr_mult, ... all keys)
    assert sorted(id(p) for g in after.param_groups
                  for p in g['params']) == sorted(id(p) for p in params)
    assert settings_by_param(after) == settings_by_param(before)
    assert all(type(g) is dict for g in after.param_groups)


def test_old_per_parameter_state_resumes(monkeypatch):
    """A checkpoint saved with one group per parameter (mmprelu before the
    merge) loads into the merged groups: momentum buffers and settings go
    to the right parameters, and the next step is the same."""
    torch.manual_seed(0)
    model = PReLUNet(TINY)
    x = torch.randn(2, 3, 12, 12)

    def step(optimizer):
        optimizer.zero_grad()
        model(x)[-1].square().mean().backward()
        optimizer.step()

    old = unmerged(monkeypatch, model, None)
    step(old)
    for group in old.param_groups:
        group['lr'] = 0.005  # e.g. a scheduler's decay, saved with it
    saved = copy.deepcopy(old.state_dict())
    new = build(model, None)
    assert len(new.param_groups) == 2 < len(saved['param_groups'])
    new.load_state_dict(copy.deepcopy(saved))
    for p in model.parameters():
        assert torch.equal(new.state[p]['momentum_buffer'],
                           old.state[p]['momentum_buffer'])
    assert settings_by_param(new) == settings_by_param(old)
    start = copy.deepcopy(model.state_dict())
    step(old)
    reference = copy.deepcopy(model.state_dict())
    model.load_state_dict(start)
    step(new)
    for key, value in model.state_dict().items():
        assert torch.equal(value, reference[key]), key
    # the merged layout itself round-trips
    new.load_state_dict(new.state_dict())
    # saved groups that the config would merge but that differ: named
    saved['param_groups'][1]['lr'] = 0.5
    with pytest.raises(ValueError, match='saved param groups 0 and 1'):
        build(model, None).load_state_dict(saved)
