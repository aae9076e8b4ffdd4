import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmprelu.apis.protocols import (PROTOCOLS, apply_test_protocol,
                                    num_views)
from mmprelu.registry import TRANSFORMS

TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='CenterCrop', crop_size=56),
    dict(type='PackInputs'),
]


def make_cfg(**protocol):
    return Config(
        dict(
            model=dict(type='PReLUNetClassifier', test_cfg=dict(window=7)),
            test_dataloader=dict(dataset=dict(pipeline=TEST_PIPELINE)),
            test_protocol=dict(scales=(64, 96, 120), view_scale=64,
                               crop_size=56, **protocol)))


@pytest.mark.parametrize('name,views,mode', [('center', 1, 'whole'),
                                             ('whole', 6, 'whole'),
                                             ('ten-view', 10, 'whole'),
                                             ('dense', 6, 'dense')])
def test_views_and_mode(name, views, mode):
    cfg = apply_test_protocol(make_cfg(), name)
    assert num_views(cfg) == views
    assert cfg.model.test_cfg['mode'] == mode
    assert cfg.model.test_cfg['window'] == 7  # kept from the config
    assert cfg.tta_model.type == 'AverageClsScoreTTA'
    assert cfg.tta_pipeline[0]['type'] == 'LoadImageFromFile'


def test_overrides():
    cfg = apply_test_protocol(make_cfg(), 'dense', scales=(64, ), flip=False,
                              window=5, stride=2)
    assert num_views(cfg) == 1
    assert cfg.model.test_cfg == dict(window=5, mode='dense', stride=2)


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


def test_needs_prelu_net_classifier():
    cfg = make_cfg()
    cfg.model.type = 'ImageClassifier'
    with pytest.raises(ValueError, match='PReLUNetClassifier'):
        apply_test_protocol(cfg, 'dense')


def test_protocol_names():
    assert PROTOCOLS == ('center', 'whole', 'ten-view', 'dense')
