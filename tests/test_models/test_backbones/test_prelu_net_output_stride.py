"""PReLUNet(output_stride=...): the last stages dilated instead of
downsampled (the atrous trunk for dense prediction), its table and cost."""
import re
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from mmprelu.models import PReLUNet
from mmprelu.models.backbones.prelu_net_archs import output_strides

ROOT = Path(__file__).resolve().parents[3]
# model C's layout at a few channels (strides 2/4/8/16), two convs in the
# dilated stages so that dilated convs also feed dilated convs
TINY = dict(
    channels=(4, 6, 8, 10),
    depths=(1, 2, 2, 2),
    kernel_sizes=(7, 3, 3, 3),
    strides=(2, 1, 1, 1),
    pools=(None, (2, 2), (2, 2), (2, 2)))
# Table 1's layout (3x3/3 pool, even 2x2 kernels) at a few channels
TINY_14 = dict(
    channels=(4, 6, 8),
    depths=(1, 2, 2),
    kernel_sizes=(7, 2, 2),
    strides=(2, 1, 1),
    pools=(None, (3, 3), (2, 2)))


@pytest.mark.parametrize(
    'arch,table',
    [
        ('A', {
            16: (1, 1, 1, 1),
            8: (1, 1, 1, 2),
            4: (1, 1, 2, 4),
            2: (1, 2, 4, 8)
        }),
        ('C', {
            16: (1, 1, 1, 1),
            8: (1, 1, 1, 2),
            4: (1, 1, 2, 4),
            2: (1, 2, 4, 8)
        }),
        ('14', {
            12: (1, 1, 1),
            6: (1, 1, 2),
            2: (1, 3, 6)
        }),
        # a stride-2 conv instead of a pool; a stage without downsampling
        (dict(
            channels=(4, 4, 4),
            depths=(1, 1, 1),
            kernel_sizes=(3, 3, 3),
            strides=(2, 2, 1),
            pools=(None, None, None)), {
                4: (1, 1, 1),
                2: (1, 2, 2)
            }),
    ])
def test_output_stride_table(arch, table):
    assert output_strides(PReLUNet.parse_arch(arch)) == table


# a stride-2 conv opens stage 1 (no pool)
STRIDED = dict(
    channels=(4, 6, 8),
    depths=(1, 2, 2),
    kernel_sizes=(3, 3, 3),
    strides=(2, 2, 1),
    pools=(None, None, None))


@pytest.mark.parametrize('arch,size', [(TINY, (64, 96)), (TINY_14, (72, 96)),
                                       (STRIDED, (32, 48))])
def test_dilated_trunk_computes_the_native_one(arch, size):
    """Same weights: where the maps share a position, every stage output
    at a smaller output stride equals the native trunk's (so a
    classification checkpoint means the same); maps are larger by the
    dropped stride, and ``strides`` says so."""
    torch.manual_seed(0)
    native = PReLUNet(arch, out_indices=(0, 1, 2, 3)[:len(arch['depths'])])
    native.init_weights()
    with torch.no_grad():
        for p in native.parameters():  # slopes as after training
            p.add_(torch.rand_like(p) * 0.1)
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        ref = native(x)
        for output_stride in sorted(output_strides(native.arch))[:-1]:
            model = PReLUNet(
                arch,
                out_indices=native.out_indices,
                output_stride=output_stride)
            model.load_state_dict(native.state_dict())
            outs = model(x)
            assert model.strides[-1] == output_stride
            for a, b, s_native, s in zip(ref, outs, native.strides,
                                         model.strides):
                step = s_native // s
                assert b.shape[-2:] == (a.shape[-2] * step, a.shape[-1] * step)
                torch.testing.assert_close(b[..., ::step, ::step], a)


def test_default_is_the_paper_trunk():
    model = PReLUNet('A')
    assert model.dilations == (1, 1, 1, 1)
    assert model.strides == PReLUNet('A', output_stride=16).strides == \
        (2, 4, 8, 16)
    assert all(m.dilation == (1, 1) for m in model.modules()
               if isinstance(m, torch.nn.Conv2d))
    dilated = PReLUNet('A', output_stride=8)
    assert dilated.strides == (2, 4, 8, 8) and dilated.dilations[-1] == 2
    # no new parameters: a classification checkpoint loads as it is
    assert dilated.state_dict().keys() == model.state_dict().keys()


@pytest.mark.parametrize('arch,bad,valid', [('C', 32, '[2, 4, 8, 16]'),
                                            ('C', 0, '[2, 4, 8, 16]'),
                                            ('14', 8, '[2, 6, 12]')])
def test_invalid_output_stride_names_the_choices(arch, bad, valid):
    with pytest.raises(
            ValueError,
            match=re.escape(
                f'output_stride {bad} is not valid for this arch; valid: None '
                f'or one of {valid}')):
        PReLUNet(arch, output_stride=bad)


def backbone_macs(arch, output_stride, size=512):
    with torch.device('meta'):
        model = PReLUNet(arch, output_stride=output_stride)
        with FlopCounterMode(display=False) as counter:
            model(torch.empty(1, 3, size, size))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize('arch', ['A', 'C'])
def test_cost_at_512_is_the_documented_one(arch):
    """docs/segmentation.md's table: backbone multiply-adds of one 512x512
    crop at output stride 16, 8 and 4, counted on the meta device."""
    doc = (ROOT / 'docs' / 'segmentation.md').read_text()
    row = re.search(rf'^\| {arch} \| 512x512 \|(.*)$', doc, re.M)
    assert row, f'docs/segmentation.md has no cost row for model {arch}'
    cells = [c.strip() for c in row.group(1).split('|')]
    for cell, output_stride in zip(cells, (16, 8, 4)):
        macs = backbone_macs(arch, output_stride)
        assert cell.startswith(f'{macs / 1e11:.2f}e11'), (output_stride, cell,
                                                          macs)
    # ratios the doc states in words
    assert backbone_macs(arch, 8) < 1.5 * backbone_macs(arch, 16)
