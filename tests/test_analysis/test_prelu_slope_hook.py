"""PReLUSlopeHook: mean slope of every PReLU layer into the message hub."""
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from mmprelu.engine.hooks import PReLUSlopeHook
from mmprelu.engine.hooks.prelu_slope_hook import prelu_slopes
from mmprelu.models.utils import build_activation
from mmprelu.registry import HOOKS


def _model(shared):
    act = dict(type='PReLU', channel_shared=shared)
    model = nn.Sequential()
    model.add_module('conv', nn.Conv2d(3, 4, 1))
    model.add_module('act', build_activation(act, 4))
    model.add_module('fc', nn.Linear(4, 2))
    model.add_module('act1', build_activation(act, 2))
    model.add_module('relu', nn.ReLU())
    return model


def _runner(model, iteration):
    hub = MessageHub(f'slope_hook_{id(model)}_{iteration}')
    return SimpleNamespace(
        model=model, message_hub=hub, iter=iteration, logger=MagicMock())


@pytest.mark.parametrize('shared', [True, False])
def test_logs_mean_slope_per_layer(shared):
    model = _model(shared)
    with torch.no_grad():
        model.act.weight.copy_(
            torch.linspace(0.1, 0.5, model.act.weight.numel()))
    runner = _runner(model, iteration=0)
    hook = HOOKS.build(dict(type='PReLUSlopeHook', interval=1))
    hook.after_train_iter(runner, 0)
    scalars = runner.message_hub.log_scalars
    assert set(scalars) == {'train/prelu/act', 'train/prelu/act1'}
    expected = 0.1 if shared else 0.3
    assert scalars['train/prelu/act'].current() == pytest.approx(expected)
    assert scalars['train/prelu/act1'].current() == pytest.approx(0.25)


def test_interval_and_wrapped_model(monkeypatch):
    model = _model(False)
    hook = PReLUSlopeHook(interval=3)
    runner = _runner(model, iteration=1)  # 2nd iteration: not logged
    hook.after_train_iter(runner, 1)
    assert not runner.message_hub.log_scalars
    runner = _runner(model, iteration=2)  # 3rd iteration: logged
    hook.after_train_iter(runner, 2)
    assert 'train/prelu/act' in runner.message_hub.log_scalars
    # a DDP-like wrapper is unwrapped (names without 'module.')
    wrapper = MagicMock()
    wrapper.module = model
    import mmprelu.engine.hooks.prelu_slope_hook as mod
    monkeypatch.setattr(mod, 'is_model_wrapper', lambda m: m is wrapper)
    assert list(prelu_slopes(wrapper)) == ['act', 'act1']


def test_relu_model_warns_once():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU())
    runner = _runner(model, iteration=0)
    hook = PReLUSlopeHook()
    hook.after_train_iter(runner, 0)
    hook.after_train_iter(runner, 0)
    assert not runner.message_hub.log_scalars
    assert runner.logger.warning.call_count == 1


@pytest.mark.parametrize(
    'kwargs',
    [dict(interval=0), dict(interval=1.5),
     dict(prefix='')])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match='PReLUSlopeHook'):
        PReLUSlopeHook(**kwargs)
