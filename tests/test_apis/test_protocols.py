import math

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmprelu.apis.protocols import PROTOCOLS, apply_test_protocol
from mmprelu.registry import TRANSFORMS

TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='CenterCrop', crop_size=56),
    dict(type='PackInputs'),
]


def num_views(cfg) -> int:
    """Views per image of the config's ``tta_pipeline`` (its final
    ``TestTimeAug``: the product of its option counts)."""
    return math.prod(map(len, cfg.tta_pipeline[-1]['transforms']))


def make_cfg(**protocol):
    return Config(
        dict(
            model=dict(type='PReLUNetClassifier'),
            tta_model=dict(type='DenseWindowTTA', window=7),
            test_dataloader=dict(
                batch_size=16, dataset=dict(pipeline=TEST_PIPELINE)),
            test_protocol=dict(
                scales=(64, 96, 120), view_scale=64, crop_size=56,
                **protocol)))


@pytest.mark.parametrize(
    'name,views,tta',
    [
        ('center', 1, dict(type='AverageClsScoreTTA')),
        ('whole', 6, dict(type='AverageClsScoreTTA')),
        ('ten-view', 10, dict(type='AverageClsScoreTTA')),
        ('dense', 6, dict(type='DenseWindowTTA', window=7)),  # the config's
    ])
def test_views_and_tta_model(name, views, tta):
    cfg = apply_test_protocol(make_cfg(), name)
    assert num_views(cfg) == views
    assert cfg.tta_model == tta
    assert cfg.tta_pipeline[0]['type'] == 'LoadImageFromFile'


def test_overrides():
    cfg = apply_test_protocol(
        make_cfg(), 'dense', scales=(64, ), flip=False, window=5, stride=2)
    assert num_views(cfg) == 1
    assert cfg.tta_model == dict(type='DenseWindowTTA', window=5, stride=2)


def test_dense_without_a_dense_tta_model_in_the_config():
    cfg = make_cfg()
    cfg.tta_model = dict(type='AverageClsScoreTTA')
    assert apply_test_protocol(
        cfg, 'dense').tta_model == dict(type='DenseWindowTTA')
    cfg.tta_model = dict(type='mmprelu.DenseWindowTTA', chunk=8)
    assert apply_test_protocol(
        cfg, 'dense', window=9).tta_model == dict(
            type='mmprelu.DenseWindowTTA', chunk=8, window=9)


def test_ten_view_pipeline_produces_ten_distinct_views(tmp_path):
    init_default_scope('mmpretrain')
    cfg = apply_test_protocol(make_cfg(), 'ten-view')
    tta = TRANSFORMS.build(cfg.tta_pipeline[1])
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (80, 100, 3), dtype=np.uint8)
    out = tta(dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2]))
    views = out['inputs']
    assert len(views) == 10
    assert all(v.shape == (3, 56, 56) for v in views)
    assert len({v.numpy().tobytes() for v in views}) == 10
    flips = [s.flip for s in out['data_samples']]
    assert sum(flips) == 5


@pytest.mark.parametrize('bad,match', [
    (dict(name='multi-crop'), 'unknown test protocol'),
    (dict(name='dense', scales=(0, )), 'scales'),
])
def test_bad_protocol(bad, match):
    with pytest.raises(ValueError, match=match):
        apply_test_protocol(make_cfg(), **bad)


@pytest.mark.parametrize('name', PROTOCOLS)
def test_any_classifier(name):
    """A derived config with mmpretrain's ImageClassifier gets every
    protocol (DenseWindowTTA groups shapes itself; whole views are padded
    for ImageClassifier, see docs/protocols.md)."""
    cfg = make_cfg()
    cfg.model.type = 'ImageClassifier'
    cfg = apply_test_protocol(cfg, name)
    assert cfg.model.type == 'ImageClassifier'
    assert cfg.tta_model.type == ('DenseWindowTTA'
                                  if name == 'dense' else 'AverageClsScoreTTA')


def test_protocol_names():
    assert PROTOCOLS == ('center', 'whole', 'ten-view', 'dense')


def coordinate_image(height, width):
    """uint8 image whose pixel (y, x) holds (y, x, 0): a crop's top-left
    pixel tells where it was cut."""
    ys, xs = np.mgrid[:height, :width]
    return np.stack([ys, xs, np.zeros_like(ys)], axis=2).astype(np.uint8)


def ten_views(img, **protocol):
    """(top-left y, x, h, w, flipped) of each of the 10 views of ``img``
    (shorter side 64 = view_scale, so the resize keeps every pixel)."""
    init_default_scope('mmpretrain')
    cfg = apply_test_protocol(make_cfg(**protocol), 'ten-view')
    tta = TRANSFORMS.build(cfg.tta_pipeline[1])
    out = tta(dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2]))
    views = []
    for view, sample in zip(out['inputs'], out['data_samples']):
        view = view.numpy()  # (3, h, w): channel 0 = y, channel 1 = x
        if sample.flip:
            view = view[:, :, ::-1]
        assert np.array_equal(view[0], view[0][:, :1].repeat(view.shape[2], 1))
        views.append((int(view[0, 0, 0]), int(view[1, 0, 0]), *view.shape[1:],
                      bool(sample.flip)))
    return views


@pytest.mark.parametrize('height,width', [(64, 96), (96, 64)])
def test_ten_view_is_alexnets(height, width):
    """Shorter side 64 (view_scale), the central 64x64 square, its four
    corners and centre at 56, each unflipped and flipped."""
    y0, x0 = (height - 64) // 2, (width - 64) // 2  # the central square
    expected = [(y0 + dy, x0 + dx, 56, 56)
                for dy, dx in [(0, 0), (0, 8), (8, 0), (8, 8), (4, 4)]]
    views = ten_views(coordinate_image(height, width))
    assert sorted(views) == sorted(
        [v + (f, ) for v in expected for f in (False, True)])


@pytest.mark.parametrize('height,width', [(64, 96), (96, 64)])
def test_ten_view_full_corners(height, width):
    """ten_view_corners='full': the corners of the whole resized image."""
    dy, dx = height - 56, width - 56
    expected = [(0, 0), (0, dx), (dy, 0), (dy, dx), (dy // 2, dx // 2)]
    views = ten_views(coordinate_image(height, width), ten_view_corners='full')
    assert sorted(views) == sorted([(y, x, 56, 56, f) for y, x in expected
                                    for f in (False, True)])


def test_ten_view_corners_override_and_check():
    cfg = apply_test_protocol(
        make_cfg(ten_view_corners='full'),
        'ten-view',
        ten_view_corners='square')
    steps = cfg.tta_pipeline[1].transforms
    assert steps[1] == [
        dict(type='PositionalCrop', crop_size=64, position='center')
    ]
    with pytest.raises(ValueError, match=r"ten_view_corners.*'square'"):
        apply_test_protocol(make_cfg(), 'ten-view', ten_view_corners='edge')


def test_unknown_test_protocol_key():
    with pytest.raises(ValueError, match=r"unknown keys \['scale'\].*valid"):
        apply_test_protocol(make_cfg(scale=(64, )), 'dense')


@pytest.mark.parametrize('collate,expected', [
    (None, 'pseudo_collate'),
    (dict(type='default_collate'), 'pseudo_collate'),
    (dict(type='my_collate'), 'my_collate'),
])
def test_views_of_any_shape_are_not_stacked(collate, expected):
    cfg = make_cfg()
    if collate is not None:
        cfg.test_dataloader.collate_fn = collate
    cfg.val_dataloader = cfg.test_dataloader
    apply_test_protocol(cfg, 'whole')
    assert cfg.test_dataloader.collate_fn.type == expected
    assert cfg.val_dataloader.get('collate_fn', None) == collate
