"""convert_relu_to_prelu: one PReLU per ReLU call site, right sizes, MSRA."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models import VGG, MobileNetV2, ResNet

from mmprelu.models.converters import (ConversionError, MultiSitePReLU,
                                       convert_relu_to_prelu)
from mmprelu.models.utils import PReLU
from mmprelu.models.utils.init import msra_std

torch.set_num_threads(1)


def tiny_resnet(depth, **kwargs):
    return ResNet(depth=depth, stem_channels=8, base_channels=8, **kwargs)


def convert(model, **kwargs):
    kwargs.setdefault('input_shape', (1, 3, 32, 32))
    return convert_relu_to_prelu(model, **kwargs)


def test_bottleneck_gets_three_sites_of_the_right_sizes():
    model = tiny_resnet(50)
    report = convert(model)
    block = model.layer1[0].relu
    assert isinstance(block, MultiSitePReLU)
    assert [s.num_parameters for s in block.sites] == [8, 8, 32]
    assert [s.num_parameters for s in model.layer4[2].relu.sites] == \
        [64, 64, 256]
    assert isinstance(model.relu, PReLU) and model.relu.num_parameters == 8
    assert report.num_sites == 1 + 16 * 3 and not report.problems
    assert model(torch.randn(2, 3, 32, 32))[-1].shape == (2, 256, 1, 1)


def test_basic_block_gets_two_sites():
    model = tiny_resnet(18)
    convert(model)
    assert [s.num_parameters for s in model.layer2[0].relu.sites] == [16, 16]


@pytest.mark.parametrize('channel_shared', [False, True])
@pytest.mark.parametrize('depth', [18, 50])
def test_slope_zero_reproduces_relu_network(depth, channel_shared):
    """PReLU with a = 0 is ReLU (and not in place: the residual input
    must not be modified)."""
    model = tiny_resnet(depth)
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    expected = model(x)[-1]
    convert(model, init=0.0, channel_shared=channel_shared)
    assert torch.allclose(model(x)[-1], expected, atol=1e-6)


def test_sites_are_used_in_call_order():
    model = tiny_resnet(50)
    model.eval()
    convert(model)
    block = model.layer1[1]
    for site, a in zip(block.relu.sites, (0.1, 0.2, 0.3)):
        nn.init.constant_(site.weight, a)
    x = torch.randn(2, 32, 8, 8)
    out = F.prelu(block.bn1(block.conv1(x)), torch.tensor([0.1]))
    out = F.prelu(block.bn2(block.conv2(out)), torch.tensor([0.2]))
    out = F.prelu(block.bn3(block.conv3(out)) + x, torch.tensor([0.3]))
    assert torch.allclose(block(x), out, atol=1e-6)


def test_channel_shared_and_init_slope():
    model = tiny_resnet(50)
    report = convert(model, channel_shared=True, init=0.1)
    prelus = [m for m in model.modules() if isinstance(m, nn.PReLU)]
    assert len(prelus) == report.num_sites == 49
    assert all(p.num_parameters == 1 for p in prelus)
    assert all(torch.all(p.weight == 0.1) for p in prelus)


def test_vgg_every_conv_and_fc_site():
    model = VGG(depth=11, num_classes=10)
    report = convert(model, input_shape=(1, 3, 224, 224))
    convs = [m for m in model.features.modules() if hasattr(m, 'activate')]
    assert [m.activate.num_parameters for m in convs] == \
        [64, 128, 256, 256, 512, 512, 512, 512]
    assert isinstance(model.classifier[1], PReLU)
    assert model.classifier[1].num_parameters == 4096
    assert report.num_sites == 10 and report.msra == {}
    assert model(torch.randn(1, 3, 224, 224))[-1].shape == (1, 10)


def test_mobilenet_relu6_left_alone_unless_asked():
    model = MobileNetV2(widen_factor=0.25)
    report = convert(model)
    assert report.converted == [] and not report.problems
    assert len(report.left_alone) == 35
    assert all(t == 'ReLU6' for _, t in report.left_alone)
    report = convert(model, convert_types=('ReLU6', ))
    assert report.num_sites == 35 and report.left_alone == []
    assert not any(isinstance(m, nn.ReLU6) for m in model.modules())


class Functional(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.act = nn.ReLU(inplace=True)
        self.unused = nn.ReLU()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = self.act(self.conv(x))
        x = F.relu(x).mean((2, 3))
        return self.fc(x.relu())


def test_functional_and_unused_relus_are_reported():
    model = Functional()
    with pytest.warns(UserWarning, match='F.relu|relu') as record:
        report = convert(model)
    message = str(record[0].message)
    assert 'unused (ReLU)' in message and 'calls F.relu 1 time' in message
    assert 'calls Tensor.relu 1 time' in message
    assert isinstance(model.act, PReLU) and isinstance(model.unused, nn.ReLU)
    assert len(report.problems) == 3


def test_strict_raises_before_changing_anything():
    model = Functional()
    with pytest.raises(ConversionError, match='F.relu'):
        convert(model, strict=True)
    assert type(model.act) is nn.ReLU


def test_scope_and_bad_options():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 1), nn.ReLU(),
        nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU()))
    report = convert(model, scope='2')
    assert type(model[1]) is nn.ReLU and isinstance(model[2][1], PReLU)
    assert [c.name for c in report.converted] == ['2.1']
    with pytest.raises(ValueError, match="'backbone' is not a module"):
        convert(model, scope='backbone')
    with pytest.raises(ValueError, match='convert_types'):
        convert(model, convert_types=('NoSuchAct', ))
    with pytest.raises(TypeError, match='init'):
        convert(model, init='0.25')
    with pytest.raises(ValueError, match='msra: unknown keys'):
        convert(model, msra=dict(mod='fan_in'))


def test_state_dict_keys():
    model = tiny_resnet(50)
    before = set(model.state_dict())
    report = convert(model)
    after = set(model.state_dict())
    new = {k for c in report.converted for k in c.keys}
    assert after == before | new
    assert 'layer1.0.relu.sites.2.weight' in new and 'relu.weight' in new


def test_shared_module_replaced_everywhere():
    act = nn.ReLU()
    model = nn.Sequential(nn.Conv2d(3, 4, 1), act, nn.Conv2d(4, 4, 1), act)
    report = convert(model)
    assert model[1] is model[3] and isinstance(model[1], MultiSitePReLU)
    assert report.converted[0].name == '1, 3'


def test_msra_slope_of_each_layer():
    model = MobileNetV2(widen_factor=0.25)
    report = convert(
        model, convert_types=('ReLU6', ), init=0.5, msra=dict(mode='fan_out'))
    # expand and depthwise convs feed a PReLU; the linear bottleneck
    # projection feeds the next block's conv: a = 0
    assert report.msra['layer2.0.conv.0.conv'] == 0.5
    assert report.msra['layer2.0.conv.2.conv'] == 0.0
    conv = model.conv2.conv  # 1x1, 80 -> 1280 outputs, feeds a PReLU
    assert conv.weight.std().item() == pytest.approx(
        msra_std(conv.weight, 'fan_out', 0.5), rel=0.05)


def test_msra_through_residual_add():
    model = tiny_resnet(50)
    report = convert(model, msra=dict(mode='fan_in'))
    # conv3 and the shortcut conv both reach the ReLU after the add
    assert report.msra['layer1.0.conv3'] == 0.25
    assert report.msra['layer1.0.downsample.0'] == 0.25


def test_with_cp_recompute_uses_the_right_sites():
    torch.manual_seed(0)
    plain, ckpt = tiny_resnet(50), tiny_resnet(50, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    for m in (plain, ckpt):
        convert(m, init=0.1)
        for p in m.modules():
            if isinstance(p, PReLU):  # distinct slopes per site
                nn.init.uniform_(p.weight, 0.0, 0.5)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    for m in (plain, ckpt):
        m(x)[-1].sum().backward()
    site = 'layer2.1.relu.sites.1.weight'
    grads = [dict(m.named_parameters())[site].grad for m in (plain, ckpt)]
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


def test_deepcopy_resets_its_own_counters():
    model = tiny_resnet(50)
    convert(model)
    clone = copy.deepcopy(model)
    clone.layer1[0].relu._next = 2
    clone(torch.randn(2, 3, 32, 32))  # would fail if not reset
    assert clone.layer1[0].relu._next == 0
