import math

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModule, KaimingInit
from mmengine.registry import WEIGHT_INITIALIZERS as ROOT_INITS

from mmprelu.models.utils import MSRAInit, PReLU
from mmprelu.models.utils.init import following_slopes, msra_fan, msra_std
from mmprelu.registry import WEIGHT_INITIALIZERS


def big_conv(cin=64, cout=256, k=3):
    return nn.Conv2d(cin, cout, k, bias=True)


@pytest.mark.parametrize('mode,n', [('fan_in', 9 * 64), ('fan_out', 9 * 256),
                                    ('avg', 9 * (64 + 256) / 2)])
def test_fan_formulas(mode, n):
    # Eq. (10): n = k^2 c ; Eq. (14): n_hat = k^2 d
    assert msra_fan(big_conv().weight, mode) == n
    assert msra_std(big_conv().weight, mode,
                    0.25) == pytest.approx(math.sqrt(2 / ((1 + 0.0625) * n)))


class Net(BaseModule):

    def __init__(self, act, init_cfg):
        super().__init__(init_cfg=init_cfg)
        self.conv = big_conv()
        self.act = act
        self.fc = nn.Linear(256, 512)


@pytest.mark.parametrize('mode', ['fan_in', 'fan_out', 'avg'])
@pytest.mark.parametrize('act,a', [(nn.ReLU(), 0.0), (PReLU(256), 0.25),
                                   (PReLU(256, init=0.5), 0.5),
                                   (nn.LeakyReLU(0.1), 0.1)])
def test_init_statistics(mode, act, a):
    torch.manual_seed(0)
    net = Net(act, dict(type='MSRA', mode=mode, layer='Conv2d'))
    net.init_weights()
    w = net.conv.weight
    expected = msra_std(w, mode, a)
    assert w.std().item() == pytest.approx(expected, rel=0.03)
    assert abs(w.mean().item()) < 0.05 * expected
    assert torch.all(net.conv.bias == 0)


def test_fixed_slope_and_uniform():
    torch.manual_seed(0)
    net = Net(
        PReLU(256),
        dict(type='MSRA', a=0, distribution='uniform', layer='Conv2d'))
    net.init_weights()
    std = math.sqrt(2 / (9 * 256))
    assert net.conv.weight.std().item() == pytest.approx(std, rel=0.03)
    assert net.conv.weight.abs().max() <= math.sqrt(3) * std + 1e-6


def test_following_slopes_last_layer_is_plain():
    net = Net(PReLU(256, init=0.3), None)
    slopes = following_slopes(net)
    assert slopes[net.conv] == pytest.approx(0.3)
    assert slopes[net.fc] == 0.0


def test_registered_everywhere():
    assert WEIGHT_INITIALIZERS.get('MSRA') is MSRAInit
    assert ROOT_INITS.get('MSRA') is MSRAInit


@pytest.mark.parametrize('kwargs,match', [(dict(mode='fan'), 'mode'),
                                          (dict(distribution='x'), 'distr'),
                                          (dict(a='relu'), 'a must')])
def test_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MSRAInit(**kwargs)


@pytest.mark.parametrize('cin,cout', [(64, 256), (256, 64), (32, 32)])
@pytest.mark.parametrize('mode', ['fan_in', 'fan_out', 'avg'])
@pytest.mark.parametrize('a', [0.0, 0.25, 1.0])
def test_std_is_eq15(cin, cout, mode, a):
    # Eq. (15) with n of Eq. (10) / (14) / their mean, written out here
    n = {
        'fan_in': 9 * cin,
        'fan_out': 9 * cout,
        'avg': 9 * (cin + cout) / 2
    }[mode]
    weight = big_conv(cin, cout).weight
    expected = math.sqrt(2 / ((1 + a * a) * n))
    assert msra_std(weight, mode, a) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize('distribution,draw',
                         [('normal', nn.init.kaiming_normal_),
                          ('uniform', nn.init.kaiming_uniform_)])
@pytest.mark.parametrize('mode', ['fan_in', 'fan_out', 'avg'])
def test_the_draw_is_torchs_kaiming(distribution, draw, mode):
    """Same seed, same numbers as torch's kaiming_*_ with the layer's slope
    (``'avg'``: the ``'fan_in'`` draw times sqrt(n / n_avg)): the formula
    is not written twice."""
    net = Net(
        PReLU(256),
        dict(
            type='MSRA', mode=mode, distribution=distribution, layer='Conv2d'))
    assert isinstance(MSRAInit(), KaimingInit)
    torch.manual_seed(0)
    net.init_weights()
    ref = torch.empty_like(net.conv.weight)
    torch.manual_seed(0)
    draw(
        ref,
        a=0.25,
        mode='fan_in' if mode == 'avg' else mode,
        nonlinearity='leaky_relu')
    if mode == 'avg':
        ref *= math.sqrt(msra_fan(ref, 'fan_in') / msra_fan(ref, 'avg'))
    assert torch.equal(net.conv.weight, ref)


def test_kaiming_arguments_keep_their_meaning():
    """``nonlinearity='relu'`` (KaimingInit's default) ignores ``a``, as in
    KaimingInit; ``bias`` fills biases."""
    torch.manual_seed(0)
    net = Net(
        PReLU(256),
        dict(type='MSRA', nonlinearity='relu', bias=0.5, layer='Conv2d'))
    net.init_weights()
    assert net.conv.weight.std().item() == pytest.approx(
        msra_std(net.conv.weight, 'fan_out', 0.0), rel=0.03)
    assert torch.all(net.conv.bias == 0.5)
