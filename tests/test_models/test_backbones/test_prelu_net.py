import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from mmprelu.models import PReLUNet, PReLUNetHead, SpatialPyramidPooling
from mmprelu.models.utils import PReLU

TINY = dict(
    channels=(8, 16, 16),
    depths=(1, 2, 1),
    kernel_sizes=(7, 3, 3),
    strides=(2, 1, 1),
    pools=(None, (2, 2), (2, 2)))

# Table 3 (ops x 1e10) and the last-stage width of each large model
PAPER_OPS = {'A': 1.90, 'B': 2.32, 'C': 5.30}
LAST_WIDTH = {'A': 512, 'B': 512, 'C': 896}


def analytic_counts(arch, size=224, num_classes=1000, levels=(7, 3, 2, 1)):
    """Multiply-adds and parameters of backbone + SPP + 3 fc, counted from
    the arch table by hand (channel-wise PReLU after every conv, fc1, fc2)."""
    arch = PReLUNet.parse_arch(arch)
    macs = params = 0
    cin, hw = 3, size
    for c, d, k, s, pool in zip(*(arch[key] for key in ('channels', 'depths',
                                                        'kernel_sizes',
                                                        'strides', 'pools'))):
        if pool:
            hw = (hw - pool[0]) // pool[1] + 1
        for j in range(d):
            stride = s if j == 0 else 1
            hw = (hw + 2 * (k // 2) - k) // stride + 1 if k % 2 else hw
            macs += k * k * cin * c * hw * hw
            params += k * k * cin * c + c + c  # weights, bias, slopes
            cin = c
    feat = cin * sum(n * n for n in levels)
    for fin, fout, slopes in ((feat, 4096, 4096), (4096, 4096, 4096),
                              (4096, num_classes, 0)):
        macs += fin * fout
        params += fin * fout + fout + slopes
    return macs, params, hw


def build_full(arch, act_cfg=dict(type='PReLU')):
    width = PReLUNet.parse_arch(arch)['channels'][-1]
    levels = (6, 3, 2, 1) if arch in ('14', '30') else (7, 3, 2, 1)
    neck = SpatialPyramidPooling(levels)
    return nn.ModuleDict(
        dict(
            backbone=PReLUNet(
                arch,
                act_cfg=act_cfg,
                out_indices=(0, 1, 2, 3) if arch in 'ABC' else (0, 1, 2)),
            neck=neck,
            head=PReLUNetHead(1000, neck.out_channels(width),
                              act_cfg=act_cfg)))


@pytest.mark.parametrize('arch', ['A', 'B', 'C'])
def test_table3_maps_flops_params_on_meta(arch):
    with torch.device('meta'):
        model = build_full(arch)
        x = torch.empty(1, 3, 224, 224)
        with FlopCounterMode(display=False) as counter:
            feats = model['backbone'](x)
            logits = model['head'](model['neck'](feats[-1:]))
    # 224 -> 112 -> 56 -> 28 -> 14, Table 3
    assert [f.shape[-1] for f in feats] == [112, 56, 28, 14]
    assert logits.shape == (1, 1000)
    macs, params, _ = analytic_counts(arch)
    assert counter.get_total_flops() // 2 == macs
    assert sum(p.numel() for p in model.parameters()) == params
    assert macs / 1e10 == pytest.approx(PAPER_OPS[arch], rel=0.01)


@pytest.mark.parametrize('arch,maps,convs', [('14', [112, 37, 18], 11),
                                             ('30', [112, 37, 18], 27)])
def test_small_models_on_meta(arch, maps, convs):
    with torch.device('meta'):
        model = build_full(arch)
        feats = model['backbone'](torch.empty(1, 3, 224, 224))
        out = model['head'](model['neck'](feats[-1:]))
    assert [f.shape[-1] for f in feats] == maps
    assert out.shape == (1, 1000)
    conv_layers = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    fc_layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert (len(conv_layers), len(fc_layers)) == (convs, 3)


@pytest.mark.parametrize('arch', ['14', 'A'])
@pytest.mark.parametrize('shared', [False, True])
def test_slopes_per_layer(arch, shared):
    with torch.device('meta'):
        model = build_full(arch, dict(type='PReLU', channel_shared=shared))
    weights = [
        m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    prelus = [m for m in model.modules() if isinstance(m, PReLU)]
    # one PReLU after every weight layer but the last fc
    assert len(prelus) == len(weights) - 1
    for layer, act in zip(weights, prelus):
        width = getattr(layer, 'out_channels',
                        getattr(layer, 'out_features', None))
        assert act.weight.numel() == (1 if shared else width)
    if arch == '14' and shared:
        assert sum(p.weight.numel() for p in prelus) == 13  # §2.1


def test_relu_baseline_has_no_slopes():
    model = PReLUNet(TINY, act_cfg=dict(type='ReLU'))
    assert not any(isinstance(m, nn.PReLU) for m in model.modules())
    assert sum(isinstance(m, nn.ReLU) for m in model.modules()) == 4


@pytest.mark.parametrize('out_indices,shapes', [((-1, ), [(16, 7, 7)]),
                                                ((0, 2), [(8, 28, 28),
                                                          (16, 7, 7)])])
def test_out_indices_tuple(out_indices, shapes):
    model = PReLUNet(TINY, out_indices=out_indices)
    model.init_weights()
    outs = model(torch.randn(2, 3, 56, 56))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape[1:]) for o in outs] == shapes
    assert model.strides == (2, 4, 8)
    assert model.out_channels == (8, 16, 16)


@pytest.mark.parametrize('frozen', [-1, 0, 1, 2])
def test_frozen_stages(frozen):
    model = PReLUNet(TINY, frozen_stages=frozen)
    model.train()
    for i, stage in enumerate(model.stages):
        frozen_here = i <= frozen
        assert all(p.requires_grad != frozen_here for p in stage.parameters())
        assert stage.training != frozen_here
    loss = model(torch.randn(1, 3, 56, 56, requires_grad=True))[-1].sum()
    loss.backward()
    for i, stage in enumerate(model.stages):
        grads = [p.grad is not None for p in stage.parameters()]
        assert all(g != (i <= frozen) for g in grads)


def test_arch_name_case_insensitive_and_custom_keys():
    assert PReLUNet.parse_arch('a') == PReLUNet.parse_arch('A')
    assert set(PReLUNet.parse_arch('C')) == set(TINY)


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='D'), r"unknown arch 'D'.*\['14', '30', 'A', 'B', 'C'\]"),
    (dict(arch=dict(TINY, depths=(1, 2))), 'same non-zero length'),
    (dict(arch={
        k: v
        for k, v in TINY.items() if k != 'pools'
    }), 'missing'),
    (dict(arch=dict(TINY, kernel_sizes=(7, 0, 3))), 'positive ints'),
    (dict(arch=TINY, out_indices=(3, )), 'out of range'),
    (dict(arch=TINY, frozen_stages=3), 'frozen_stages'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PReLUNet(**kwargs)


def test_norm_cfg_option():
    model = PReLUNet(TINY, norm_cfg=dict(type='BN'), norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 4 and not any(bn.training for bn in bns)
    assert model.stages[0].conv1.conv.bias is None


@pytest.mark.parametrize('arch', ['A', 'C', '14'])
@pytest.mark.parametrize('side', [1, 7, 14])
def test_smallest_input_inverts_feature_size(arch, side):
    size = PReLUNet.smallest_input(arch, side)
    assert PReLUNet.feature_size(arch, size) >= side
    assert PReLUNet.feature_size(arch, size - 1) < side
