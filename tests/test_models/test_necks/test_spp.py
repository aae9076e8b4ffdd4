import pytest
import torch
import torch.nn.functional as F

from mmprelu.models import SpatialPyramidPooling


@pytest.mark.parametrize('levels', [(7, 3, 2, 1), (6, 3, 2, 1), (4, 1)])
@pytest.mark.parametrize('size', [(7, 7), (14, 14), (13, 20), (23, 16)])
@pytest.mark.parametrize('mode', ['sppnet', 'adaptive'])
def test_output_size(levels, size, mode):
    if min(size) < max(levels):
        pytest.skip('smaller than the finest level: see test_too_small')
    spp = SpatialPyramidPooling(levels, mode)
    x = torch.randn(2, 5, *size)
    out = spp(x)
    assert out.shape == (2, 5 * sum(n * n for n in levels))
    assert spp.out_channels(5) == out.shape[1]


def test_sppnet_rule_on_14():
    # 14x14 map: windows 2/5/7/14 with strides 2/4/7/14 (SPP-net rule)
    x = torch.arange(14 * 14, dtype=torch.float).view(1, 1, 14, 14)
    spp = SpatialPyramidPooling((7, 3, 2, 1))
    out = spp(x)[0]
    level7 = out[:49].view(7, 7)
    level3 = out[49:58].view(3, 3)
    assert torch.equal(level7, F.max_pool2d(x, 2, 2)[0, 0])
    # bin (i, j) of the 3x3 level covers rows/cols [4i, 4i + 5)
    for i in range(3):
        for j in range(3):
            assert level3[i, j] == x[0, 0, 4 * i:4 * i + 5,
                                     4 * j:4 * j + 5].max()
    assert out[-1] == x.max()


def test_tuple_input_and_adaptive_covers_all():
    spp = SpatialPyramidPooling((3, 1), mode='adaptive')
    x = torch.zeros(1, 1, 14, 14)
    x[0, 0, 13, 13] = 1.0  # last cell: outside the sppnet 3x3 bins
    out = spp((x, x))
    assert isinstance(out, tuple) and len(out) == 2
    assert out[0][0, 8] == 1.0
    assert SpatialPyramidPooling((3, 1))(x)[0, 8] == 0.0


def test_too_small():
    spp = SpatialPyramidPooling((7, 3, 2, 1))
    with pytest.raises(ValueError, match=r'5x9.*at least 7x7'):
        spp(torch.randn(1, 2, 5, 9))


@pytest.mark.parametrize(
    'kwargs',
    [dict(levels=(0, 1)),
     dict(levels=()), dict(mode='avg')])
def test_bad_config(kwargs):
    with pytest.raises(ValueError):
        SpatialPyramidPooling(**kwargs)


def sppnet_reference(x, levels):
    """Every bin by hand: per axis of length a, n bins of ceil(a / n) cells
    every floor(a / n) cells (SPP-net's rule)."""
    out = []
    for n in levels:
        (kh, sh), (kw, sw) = [((a + n - 1) // n, a // n) for a in x.shape[-2:]]
        bins = torch.empty(x.shape[0], x.shape[1], n, n)
        for i in range(n):
            for j in range(n):
                bins[..., i, j] = x[..., i * sh:i * sh + kh,
                                    j * sw:j * sw + kw].amax((-2, -1))
        out.append(bins.flatten(1))
    return torch.cat(out, 1)


@pytest.mark.parametrize(
    'name',
    [
        'coffee_orig.JPEG',  # landscape 2:3
        'hubble_deep_field_rot.png',  # portrait
        'page_rot.png'
    ])  # portrait 1:2
def test_non_square_photo_maps(photo_tensor, name):
    x = photo_tensor(name, short=15)
    assert x.shape[-2] != x.shape[-1]
    levels = (7, 3, 2, 1)
    assert torch.equal(
        SpatialPyramidPooling(levels)(x), sppnet_reference(x, levels))
    # both axes treated alike: the transposed map gives transposed bins
    flat = SpatialPyramidPooling(levels)(x.transpose(-2, -1))
    start = 0
    for n in levels:
        span = 3 * n * n
        bins = SpatialPyramidPooling((n, ))(x).view(1, 3, n, n)
        assert torch.equal(flat[:, start:start + span].view(1, 3, n, n),
                           bins.transpose(-2, -1))
        start += span
    adaptive = SpatialPyramidPooling(levels, 'adaptive')(x)
    assert torch.equal(adaptive[:, :3 * 49],
                       F.adaptive_max_pool2d(x, 7).flatten(1))
