"""Scale jitter (§3: mmcv's RandomChoiceResize over mmpretrain's
ResizeEdge, as the configs write it), LimitAspectRatio and PCALighting
(colour altering)."""
import logging
import pickle

import numpy as np
import pytest
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmpretrain.datasets.transforms import ResizeEdge

from mmprelu.datasets.transforms import LimitAspectRatio, PCALighting
from mmprelu.datasets.transforms.colour import IMAGENET_EIGVAL, IMAGENET_EIGVEC
from mmprelu.registry import TRANSFORMS


def image(h, w, value=0, dtype=np.uint8):
    return np.full((h, w, 3), value, dtype=dtype)


def jitter(low, high, edge='short', **kwargs):
    """The configs' scale jitter: s uniform over the integers [low, high]."""
    return TRANSFORMS.build(
        dict(
            type='RandomChoiceResize',
            scales=list(range(low, high + 1)),
            resize_type='mmpretrain.ResizeEdge',
            edge=edge,
            **kwargs))


def resized(transform, h, w):
    return transform(dict(img=image(h, w)))


def test_jitter_covers_the_range_uniformly():
    np.random.seed(0)
    t = jitter(20, 24)
    sizes = [min(resized(t, 30, 45)['img'].shape[:2]) for _ in range(1000)]
    counts = np.bincount(sizes, minlength=25)[20:]
    assert set(sizes) == set(range(20, 25))  # both ends included
    assert counts.min() > 150 and counts.max() < 250  # 200 each expected


def test_paper_config_draws_every_integer_in_256_512():
    from pathlib import Path

    from mmengine.config import Config
    root = Path(__file__).resolve().parents[2]
    cfg = Config.fromfile(root / 'configs/_base_/datasets/'
                          'imagenet_bs16_scale_jitter.py')
    step = cfg.train_pipeline[2]
    assert step.type == 'RandomChoiceResize' and step.edge == 'short'
    assert step.scales == list(range(256, 513))


@pytest.mark.parametrize('edge', ['short', 'long', 'width', 'height'])
def test_fixed_scale_equals_resize_edge_exactly(edge):
    """One scale gives ResizeEdge's output (size truncated, pixels): train
    and test resize alike."""
    rng = np.random.RandomState(0)
    t, ref = jitter(256, 256, edge), ResizeEdge(scale=256, edge=edge)
    for h, w in [(200, 300), (375, 500), (333, 500), (500, 331), (7, 1000)]:
        img = rng.randint(0, 256, (h, w, 3), np.uint8)
        out, expected = t(dict(img=img.copy())), ref(dict(img=img.copy()))
        assert out['img'].shape == expected['img'].shape
        assert np.array_equal(out['img'], expected['img'])
        assert out['scale_factor'] == expected['scale_factor']
    # 256 * 500 / 333 = 384.38...: truncated to 384, never rounded up
    assert resized(t, 333,
                   500)['img'].shape[:2] == ((256,
                                              384) if edge in ('short',
                                                               'height') else
                                             (170, 256))


def test_seeded_draws_repeat():
    t = jitter(256, 512)
    np.random.seed(3)
    first = [min(resized(t, 20, 30)['img'].shape[:2]) for _ in range(20)]
    np.random.seed(3)
    assert [min(resized(t, 20, 30)['img'].shape[:2])
            for _ in range(20)] == first


@pytest.mark.parametrize('scope', [None, 'mmpretrain', 'mmdet', 'mmengine'])
def test_jitter_builds_in_every_scope_and_pickles(scope):
    """'mmpretrain.ResizeEdge' resolves from mmengine's root registry, where
    RandomChoiceResize builds it, whatever the default scope; the built
    transform pickles (spawned dataloader workers)."""
    if scope == 'mmdet':
        pytest.importorskip('mmdet')
    with DefaultScope.overwrite_default_scope(scope):
        t = jitter(30, 30)
    assert type(t.resize) is ResizeEdge
    t = pickle.loads(pickle.dumps(t))
    assert resized(t, 20, 40)['img'].shape == (30, 60, 3)


def test_content_is_resized_not_cropped():
    img = np.zeros((10, 20, 3), np.uint8)
    img[:, 10:] = 200
    out = jitter(20, 20, interpolation='nearest')(dict(img=img))['img']
    assert out.shape == (20, 40, 3)
    assert (out[:, :20] == 0).all() and (out[:, 20:] == 200).all()


# ------------------------------------------------------- aspect-ratio limit


@pytest.mark.parametrize('shape,expected', [((1, 4000), (1, 10)),
                                            ((500, 3), (30, 3)),
                                            ((30, 40), (30, 40)),
                                            ((10, 100), (10, 100)),
                                            ((10, 101), (10, 100))])
@pytest.mark.parametrize('max_ratio', [10, float('inf')])
def test_limit_aspect_ratio_crops_the_centre(shape, expected, max_ratio):
    if max_ratio == float('inf'):
        expected = shape  # never crops
    img = np.arange(shape[0] * shape[1], dtype=np.int32).reshape(shape)
    out = LimitAspectRatio(max_ratio)(
        dict(img=img, img_shape=shape, ori_shape=shape))
    assert out['img'].shape == expected == out['img_shape']
    assert out['ori_shape'] == shape
    if expected != shape:
        y, x = (shape[0] - expected[0]) // 2, (shape[1] - expected[1]) // 2
        assert np.array_equal(out['img'], img[y:y + expected[0],
                                              x:x + expected[1]])


class Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_limit_aspect_ratio_logs_each_file_once():
    records, logger = Records(), MMLogger.get_current_instance()
    logger.addHandler(records)
    level = logger.level  # a benchmark test may have raised it
    logger.setLevel(logging.INFO)
    try:
        t = TRANSFORMS.build(dict(type='LimitAspectRatio', max_ratio=2.5))
        for path in ('a.png', 'a.png', 'b.png'):
            out = t(dict(img=image(2, 50), img_path=path))
        t(dict(img=image(20, 30), img_path='c.png'))  # within: silent
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    assert out['img'].shape == (2, 5, 3)
    logs = [m for m in records.messages if 'LimitAspectRatio' in m]
    assert len(logs) == 2 and 'a.png: 2x50' in logs[0] and '2x5' in logs[0]
    assert 'b.png' in logs[1]
    assert repr(t) == 'LimitAspectRatio(max_ratio=2.5)'


@pytest.mark.parametrize('value', [0.5, '10', True, None])
def test_limit_aspect_ratio_bad_argument(value):
    with pytest.raises(ValueError, match='max_ratio'):
        LimitAspectRatio(max_ratio=value)


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
    img = np.random.RandomState(0).randint(0, 256, (6, 7, 3)).astype(np.uint8)
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
