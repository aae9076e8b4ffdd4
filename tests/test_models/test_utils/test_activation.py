import pytest
import torch
import torch.nn as nn

from mmprelu.models.utils import PReLU, build_activation
from mmprelu.models.utils.activation import activation_slope


@pytest.mark.parametrize('channels', [1, 3, 64])
@pytest.mark.parametrize('shared', [False, True])
def test_prelu_slope_count(channels, shared):
    act = build_activation(dict(type='PReLU', channel_shared=shared), channels)
    assert isinstance(act, PReLU) and isinstance(act, nn.PReLU)
    assert act.weight.numel() == (1 if shared else channels)
    assert torch.all(act.weight == 0.25)


def test_prelu_matches_eq1():
    act = build_activation(dict(type='PReLU', init=0.1), 4)
    with torch.no_grad():
        act.weight.copy_(torch.tensor([0.1, 0.2, -0.5, 1.5]))
    y = torch.randn(2, 4, 5, 5)
    a = act.weight.view(1, 4, 1, 1)
    expected = y.clamp(min=0) + a * y.clamp(max=0)
    assert torch.allclose(act(y), expected)
    assert act.init == 0.1


@pytest.mark.parametrize('num_parameters,shared', [(1, True), (8, False)])
def test_num_parameters_compat(num_parameters, shared):
    act = build_activation(
        dict(type='PReLU', num_parameters=num_parameters), 8)
    assert act.channel_shared is shared


@pytest.mark.parametrize('cfg,match', [
    (dict(type='PReLU', num_parameters=3), 'num_parameters'),
    (dict(type='PReLU', slope=0.1), 'unknown PReLU keys'),
    ('PReLU', 'act_cfg must be a dict'),
])
def test_bad_act_cfg(cfg, match):
    with pytest.raises((ValueError, TypeError), match=match):
        build_activation(cfg, 8)


def test_other_activations_from_registry():
    relu = build_activation(dict(type='ReLU'), 8)
    assert isinstance(relu, nn.ReLU) and relu.inplace
    leaky = build_activation(dict(type='LeakyReLU', negative_slope=0.3), 8)
    assert isinstance(leaky, nn.LeakyReLU)
    assert isinstance(build_activation(None, 8), nn.Identity)


@pytest.mark.parametrize('module,slope', [
    (nn.ReLU(), 0.0),
    (nn.LeakyReLU(0.2), 0.2),
    (PReLU(4, init=0.3), 0.3),
    (nn.PReLU(init=0.25), 0.25),
    (nn.Sigmoid(), None),
])
def test_activation_slope(module, slope):
    assert activation_slope(module) == (
        pytest.approx(slope) if slope is not None else None)
