"""The paper configs' pipelines (configs/prelu_net_a_8xb16.py) on real
photographs of mixed sizes, orientations and formats (the ``photos``
fixture of tests/conftest.py): grey, RGBA, portrait and landscape files
come out as the shapes the paper's model expects."""
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import mmprelu  # noqa: F401  (registers the transforms)
from mmprelu.registry import DATASETS, MODELS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'prelu_net_a_8xb16.py'


@pytest.fixture(scope='module')
def cfg():
    init_default_scope('mmpretrain')
    return Config.fromfile(CONFIG)


def dataset(cfg, photos, split, pipeline):
    return DATASETS.build(
        dict(
            type='ImageNet',
            data_root=str(photos),
            split=split,
            pipeline=pipeline))


def test_training_pipeline(cfg, photos):
    """Scale jitter [256, 512], random 224 crop, flip, PCA colour: every
    training photograph becomes a 3x224x224 uint8 image."""
    np.random.seed(0)
    data = dataset(cfg, photos, 'train', cfg.train_dataloader.dataset.pipeline)
    for i in range(len(data)):
        item = data[i]
        assert tuple(item['inputs'].shape) == (3, 224, 224)
        assert str(item['inputs'].dtype) == 'torch.uint8'
        assert item['data_samples'].gt_label.item() < 13


def test_test_pipeline(cfg, photos):
    data = dataset(cfg, photos, 'val', cfg.val_dataloader.dataset.pipeline)
    assert all(
        tuple(data[i]['inputs'].shape) == (3, 224, 224)
        for i in range(len(data)))


def test_tta_views_keep_each_photo_shape(cfg, photos):
    """The dense protocol's views: the whole photograph at shorter side 256,
    384 and 480 in its own orientation, each also flipped."""
    data = dataset(cfg, photos, 'val', cfg.tta_pipeline)
    for i in range(len(data)):
        item = data[i]
        height, width = item['data_samples'][0].ori_shape
        shapes = [tuple(v.shape[1:]) for v in item['inputs']]
        assert len(shapes) == 6
        for (h, w), s in zip(shapes, (256, 256, 384, 384, 480, 480)):
            assert min(h, w) == s and (h < w) == (height < width)
            long = round(s * max(height, width) / min(height, width))
            assert abs(max(h, w) - long) <= 1


def test_a_mixed_batch_through_the_preprocessor(cfg, photos):
    """pseudo_collate + mmpretrain's ClsDataPreprocessor: views of
    different shapes padded into one batch, each sample's img_shape kept
    (what PReLUNetClassifier crops back to)."""
    data = dataset(cfg, photos, 'val', cfg.tta_pipeline)
    batch = pseudo_collate([data[i] for i in range(4)])
    view = dict(
        inputs=batch['inputs'][4],  # shorter side 480, no flip
        data_samples=batch['data_samples'][4])
    preprocessor = MODELS.build(
        dict(type='ClsDataPreprocessor', **cfg.data_preprocessor))
    out = preprocessor(view)
    shapes = [tuple(s.img_shape) for s in out['data_samples']]
    assert len(set(shapes)) > 1
    assert tuple(out['inputs'].shape[-2:]) == (max(h for h, _ in shapes),
                                               max(w for _, w in shapes))
