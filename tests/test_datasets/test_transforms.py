"""RandomResizeEdge (scale jitter, §3) and PCALighting (colour altering)."""
import numpy as np
import pytest

from mmprelu.datasets.transforms import PCALighting, RandomResizeEdge
from mmprelu.datasets.transforms.colour import (IMAGENET_EIGVAL,
                                                IMAGENET_EIGVEC)
from mmprelu.registry import TRANSFORMS


def image(h, w, value=0, dtype=np.uint8):
    return np.full((h, w, 3), value, dtype=dtype)


def resized(transform, h, w):
    return transform(dict(img=image(h, w)))


def edge_length(edge, h, w):
    return dict(short=min(h, w), long=max(h, w), width=w, height=h)[edge]


@pytest.mark.parametrize('sampling', ['int', 'uniform'])
def test_sizes_within_range(sampling):
    np.random.seed(0)
    t = RandomResizeEdge(scale_range=(20, 24), sampling=sampling)
    sizes = {min(resized(t, 30, 45)['img'].shape[:2]) for _ in range(200)}
    assert sizes <= set(range(20, 25))
    assert len(sizes) >= 3  # it does jitter


def test_int_sampling_hits_both_ends():
    np.random.seed(1)
    t = RandomResizeEdge(scale_range=(10, 12))
    sizes = [t.sample_size() for _ in range(300)]
    assert set(sizes) == {10, 11, 12}
    assert all(isinstance(s, int) for s in sizes)


def test_uniform_sampling_is_continuous_then_rounded():
    np.random.seed(2)
    t = RandomResizeEdge(scale_range=(100.2, 101.8), sampling='uniform')
    sizes = [t.sample_size() for _ in range(300)]
    assert set(sizes) == {100, 101, 102}
    # 100 and 102 come from 0.3-wide ends, 101 from the 1.0-wide middle
    assert sizes.count(101) > sizes.count(100) + sizes.count(102)


def test_seeded_draws_repeat():
    t = RandomResizeEdge()
    np.random.seed(3)
    first = [t.sample_size() for _ in range(20)]
    np.random.seed(3)
    assert [t.sample_size() for _ in range(20)] == first


@pytest.mark.parametrize('edge', ['short', 'long', 'width', 'height'])
@pytest.mark.parametrize('h,w', [(40, 60), (60, 40), (50, 50)])
def test_edge_and_aspect_ratio(edge, h, w):
    t = RandomResizeEdge(scale_range=(80, 120), edge=edge)
    for _ in range(5):
        out = resized(t, h, w)
        new_h, new_w = out['img'].shape[:2]
        s = edge_length(edge, new_h, new_w)
        assert 80 <= s <= 120
        # the chosen edge is s: the other one follows the aspect ratio
        assert abs(new_w - new_h * w / h) <= 1
        assert out['img_shape'] == (new_h, new_w)
        assert out['scale'] == (new_w, new_h)
        assert out['scale_factor'] == pytest.approx((new_w / w, new_h / h))


@pytest.mark.parametrize('edge,expected', [('short', (256, 384)),
                                           ('long', (171, 256)),
                                           ('width', (171, 256)),
                                           ('height', (256, 384))])
def test_fixed_scale(edge, expected):
    t = RandomResizeEdge(scale_range=(256, 256), edge=edge)
    assert resized(t, 200, 300)['img'].shape[:2] == expected


def test_content_is_resized_not_cropped():
    img = np.zeros((10, 20, 3), np.uint8)
    img[:, 10:] = 200
    t = RandomResizeEdge(scale_range=(20, 20), interpolation='nearest')
    out = t(dict(img=img))['img']
    assert out.shape == (20, 40, 3)
    assert (out[:, :20] == 0).all() and (out[:, 20:] == 200).all()


@pytest.mark.parametrize('kwargs,words', [
    (dict(scale_range=(512, 256)), ['scale_range', 'min > max']),
    (dict(scale_range=(0, 256)), ['scale_range', 'positive']),
    (dict(scale_range=(-5, 256)), ['scale_range', 'positive']),
    (dict(scale_range=256), ['scale_range', '256']),
    (dict(scale_range=(256, 384, 512)), ['scale_range']),
    (dict(scale_range='ab'), ['scale_range']),
    (dict(scale_range=(256.5, 512)), ['scale_range', 'integers']),
    (dict(scale_range=(True, 512)), ['scale_range']),
    (dict(scale_range=('256', 512), sampling='uniform'), ['scale_range']),
    (dict(edge='shorter'), ['edge', 'shorter', 'long']),
    (dict(sampling='normal'), ['sampling', 'normal', 'uniform']),
    (dict(backend='skimage'), ['backend', 'skimage', 'pillow']),
    (dict(interpolation='cubic'), ['interpolation', 'cubic', 'bicubic']),
])
def test_resize_bad_arguments(kwargs, words):
    with pytest.raises(ValueError) as info:
        RandomResizeEdge(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_resize_missing_image():
    with pytest.raises(KeyError, match='img'):
        RandomResizeEdge()(dict())


def test_resize_pillow_and_registry():
    t = TRANSFORMS.build(
        dict(type='RandomResizeEdge', scale_range=(32, 32),
             backend='pillow', interpolation='bicubic'))
    assert isinstance(t, RandomResizeEdge)
    assert resized(t, 16, 8)['img'].shape == (64, 32, 3)
    assert repr(t) == ("RandomResizeEdge(scale_range=(32, 32), edge='short', "
                       "sampling='int', interpolation='bicubic', "
                       "backend='pillow')")


# ---------------------------------------------------------------- colour


def lit(transform, img, alpha):
    transform.sample_alpha = lambda: np.asarray(alpha, dtype=np.float64)
    return transform(dict(img=img))['img']


@pytest.mark.parametrize('value', [0, 255])
def test_lighting_clips_instead_of_wrapping(value):
    np.random.seed(0)
    t = PCALighting(alphastd=5.)  # shifts of hundreds of grey levels
    for _ in range(20):
        img = image(4, 4, value)
        out = t(dict(img=img))['img']
        assert out.dtype == np.uint8
        shift = out.astype(int) - value
        # clipped: from white the image can only darken, from black brighten
        assert (shift <= 0).all() if value == 255 else (shift >= 0).all()


def test_lighting_adds_rgb_pca_shift_to_bgr_image():
    alpha = [0.1, -0.2, 0.05]
    expected_rgb = np.asarray(IMAGENET_EIGVEC) @ (
        np.asarray(alpha) * np.asarray(IMAGENET_EIGVAL))
    img = image(3, 5, 128)
    img[..., 0] = 100  # B differs, to see the order kept
    bgr = lit(PCALighting(), img.copy(), alpha)
    expected_bgr = np.rint(img + expected_rgb[::-1])
    assert np.array_equal(bgr, expected_bgr.astype(np.uint8))
    rgb = lit(PCALighting(channel_order='rgb'), img.copy(), alpha)
    assert np.array_equal(rgb, np.rint(img + expected_rgb).astype(np.uint8))


def test_lighting_keeps_float_dtype_and_clips():
    img = image(2, 2, 250., np.float32)
    out = lit(PCALighting(), img, [-10., 0., 0.])  # first PC: all brighter
    assert out.dtype == np.float32
    assert np.allclose(out, 255.)


def test_lighting_zero_std_is_identity():
    img = np.random.RandomState(0).randint(0, 256, (6, 7, 3)).astype(
        np.uint8)
    out = PCALighting(alphastd=0.)(dict(img=img.copy()))['img']
    assert np.array_equal(out, img)


def test_lighting_changes_image_with_default_std():
    np.random.seed(4)
    img = image(4, 4, 128)
    outs = [PCALighting()(dict(img=img.copy()))['img'] for _ in range(10)]
    assert any(not np.array_equal(o, img) for o in outs)
    assert all(np.abs(o.astype(int) - 128).max() < 60 for o in outs)


@pytest.mark.parametrize('kwargs,words', [
    (dict(eigval=[1., 2.]), ['eigval', '3']),
    (dict(eigvec=[[1., 0.], [0., 1.]]), ['eigvec', '3 x 3']),
    (dict(eigval=['a', 'b', 'c']), ['eigval']),
    (dict(alphastd=-0.1), ['alphastd', '-0.1']),
    (dict(alphastd='0.1'), ['alphastd']),
    (dict(channel_order='hsv'), ['channel_order', 'hsv', 'bgr']),
])
def test_lighting_bad_arguments(kwargs, words):
    with pytest.raises(ValueError) as info:
        PCALighting(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_lighting_needs_colour_image():
    with pytest.raises(ValueError, match='H, W, 3'):
        PCALighting()(dict(img=np.zeros((4, 4), np.uint8)))


def test_lighting_registry_and_repr():
    t = TRANSFORMS.build(dict(type='PCALighting', alphastd=0.2))
    assert isinstance(t, PCALighting)
    assert 'alphastd=0.2' in repr(t) and "channel_order='bgr'" in repr(t)
