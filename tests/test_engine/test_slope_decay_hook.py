"""SlopeDecayCheckHook: one warning (or an error with strict=True) when the
built optimizer would weight-decay PReLU slopes, whatever the constructor."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmprelu  # noqa: F401  (registers the hook and the constructor)
from mmprelu.engine.hooks import SlopeDecayCheckHook, slope_decay_hook
from mmprelu.engine.hooks.slope_decay_hook import (add_slope_decay_check,
                                                   decayed_slopes)
from mmprelu.models.utils import PReLU


class Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 4)
        self.act = PReLU(num_channels=4)
        self.fc2 = nn.Linear(4, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.fc2(self.act(self.fc1(inputs)))
        if mode == 'loss':
            return dict(loss=(out - labels).pow(2).mean())
        return out


def optim_cfg(constructor=None, weight_decay=1e-3, **paramwise):
    cfg = dict(
        optimizer=dict(
            type='SGD', lr=0.1, momentum=0.9, weight_decay=weight_decay))
    if constructor:
        cfg['constructor'] = constructor
    if paramwise:
        cfg['paramwise_cfg'] = paramwise
    return cfg


def fake_runner(optim_wrapper_cfg):
    init_default_scope('mmpretrain')
    model = Toy()
    return SimpleNamespace(
        model=model,
        optim_wrapper=build_optim_wrapper(model, optim_wrapper_cfg),
        cfg=Config(dict(optim_wrapper=optim_wrapper_cfg)))


@pytest.fixture
def logged(monkeypatch):
    messages = []
    monkeypatch.setattr(slope_decay_hook, 'print_log',
                        lambda msg, **kw: messages.append((msg, kw)))
    return messages


@pytest.mark.parametrize(
    'case, decayed',
    [
        (dict(), True),  # mmengine's default constructor decays everything
        (dict(constructor='PReLUOptimWrapperConstructor'), False),
        (dict(
            constructor='PReLUOptimWrapperConstructor',
            slope_decay_mult=0.5), True),
        (dict(weight_decay=0.), False),
        # the default constructor with the slopes matched by custom_keys
        (dict(custom_keys={'act.weight': dict(decay_mult=0.)}), False),
    ])
def test_warns_exactly_when_slopes_decay(case, decayed, logged):
    runner = fake_runner(optim_cfg(**case))
    hook = SlopeDecayCheckHook()
    hook.before_run(runner)
    assert bool(hook.found) is decayed
    assert len(logged) == (1 if decayed else 0)
    if decayed:
        message, kwargs = logged[0]
        assert kwargs['level'] == 30  # logging.WARNING
        assert 'act.weight' in message
        assert 'optim_wrapper.constructor' in message
        assert 'PReLUOptimWrapperConstructor' in message
        assert 'default_hooks.slope_decay_check.strict=True' in message


def test_strict_raises(logged):
    runner = fake_runner(optim_cfg())
    with pytest.raises(
            ValueError,
            match=r'1 PReLU slope parameter.*'
            r'DefaultOptimWrapperConstructor.*Fix: set '
            r"optim_wrapper.constructor='PReLUOptimWrapper"):
        SlopeDecayCheckHook(strict=True).before_run(runner)
    assert not logged


def test_frozen_slopes_and_test_runs_are_ignored(logged):
    runner = fake_runner(optim_cfg())
    runner.model.act.weight.requires_grad_(False)
    assert decayed_slopes(runner.model, runner.optim_wrapper.optimizer) == []
    # runner.test(): the optimizer is still a config dict
    SlopeDecayCheckHook().before_run(
        SimpleNamespace(
            model=Toy(), optim_wrapper=dict(optimizer=dict(type='SGD'))))
    assert not logged


def test_bad_arguments():
    with pytest.raises(ValueError, match='strict must be True or False'):
        SlopeDecayCheckHook(strict='yes')
    with pytest.raises(
            ValueError,
            match="slope_types: 'NoSuchModule' is "
            'not a registered nn.Module'):
        SlopeDecayCheckHook(slope_types=['NoSuchModule'])
    with pytest.raises(ValueError, match='enable must be True or False'):
        SlopeDecayCheckHook(enable='no')


def test_switched_off(logged):
    hook = SlopeDecayCheckHook(strict=True, enable=False)
    hook.before_run(fake_runner(optim_cfg()))  # would raise if enabled
    assert not hook.found and not logged
    assert hook.get_triggered_stages() == []


def make_runner(tmp_path, hooks):
    data = [
        dict(inputs=torch.randn(2), labels=torch.randn(1)) for _ in range(4)
    ]
    loader = dict(
        dataset=data,
        batch_size=2,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'))
    return Runner(
        model=Toy(),
        work_dir=str(tmp_path),
        train_dataloader=loader,
        optim_wrapper=optim_cfg(),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=100)),
        custom_hooks=hooks,
        default_scope='mmpretrain')


def test_runner_warns_once_at_build(tmp_path, logged):
    """A config without the hook gets one from add_slope_decay_check (what
    tools/train.py calls); adding it twice keeps one; training runs after
    the single warning."""
    runner = make_runner(tmp_path, hooks=[])
    add_slope_decay_check(runner)
    add_slope_decay_check(runner)
    hooks = [h for h in runner.hooks if isinstance(h, SlopeDecayCheckHook)]
    assert len(hooks) == 1
    runner.train()
    assert len(logged) == 1
    assert hooks[0].found[0].name == 'act.weight'


def test_runner_strict_from_config(tmp_path, logged):
    runner = make_runner(
        tmp_path, hooks=[dict(type='SlopeDecayCheckHook', strict=True)])
    add_slope_decay_check(runner)  # the config's own hook is kept
    with pytest.raises(ValueError, match='PReLU slope'):
        runner.train()


def test_plain_torch_prelu_is_a_slope_too(logged):
    """The default covers torch.nn.PReLU itself (zoo models converted by
    other tools), not only our subclass."""
    runner = fake_runner(optim_cfg())
    runner.model.act = nn.PReLU(4)
    runner.optim_wrapper = build_optim_wrapper(runner.model, optim_cfg())
    hook = SlopeDecayCheckHook()
    hook.before_run(runner)
    assert [f.name for f in hook.found] == ['act.weight']
    init_default_scope('mmpretrain')
    assert issubclass(
        SlopeDecayCheckHook(slope_types=['PReLU']).slope_types[0], nn.PReLU)
    hook = SlopeDecayCheckHook(slope_types=[nn.Linear])
    hook.before_run(runner)
    assert {f.name
            for f in hook.found
            } == {'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'}
