"""Every shipped config's pipelines take an override written the upstream
way: each of our steps that stands in for an upstream transform, switched
to that type by a key-by-key merge (what ``--cfg-options`` and a derived
config do), builds and runs on a real photograph; and no other step of
ours stands in for an upstream type unnoticed."""
from pathlib import Path

import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmprelu  # noqa: F401  (registers our transforms)
from mmprelu.registry import TRANSFORMS

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    p for p in (ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts)
#: our step -> the upstream type it stands in for (same arguments)
STAND_INS = {'LoadImageSafely': 'LoadImageFromFile'}
#: our steps with no upstream counterpart (their own arguments): the
#: aspect-ratio limit, the 10-view corner crops, and PCA lighting (mmpretrain's
#: Lighting wraps uint8 and returns RGB; see PCALighting's docstring)
OWN = {'LimitAspectRatio', 'PositionalCrop', 'PCALighting'}
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# colour JPEG, grey PNG, RGBA PNG, grey JPEG of the photos fixture
PHOTOS = ('coffee_orig.JPEG', 'camera_crop.png', 'logo_rot.png',
          'clock_flip.JPEG')


def pipelines(cfg):
    """(config key of a pipeline list, the list) for every pipeline."""
    for name in LOADERS:
        dataset = (cfg.get(name) or {}).get('dataset') or {}
        where = f'{name}.dataset'
        if 'pipeline' not in dataset and 'dataset' in dataset:
            dataset, where = dataset['dataset'], where + '.dataset'
        if dataset.get('pipeline'):
            yield f'{where}.pipeline', dataset['pipeline']
    if cfg.get('tta_pipeline'):
        yield 'tta_pipeline', cfg.tta_pipeline


def steps(pipeline, where):
    """(config key, step) of each step, TestTimeAug's options included."""
    for i, step in enumerate(pipeline):
        yield f'{where}.{i}', step
        for j, options in enumerate(step.get('transforms', [])):
            for k, option in enumerate(options):
                yield f'{where}.{i}.transforms.{j}.{k}', option


def ours(type_name) -> bool:
    cls = TRANSFORMS.get(type_name)
    return cls is not None and cls.__module__.startswith('mmprelu.')


def cases():
    for path in CONFIGS:
        if 'det' in path.relative_to(ROOT / 'configs').parts:
            continue  # mmdet's own loaders (checked below)
        cfg = Config.fromfile(path)
        for where, pipeline in pipelines(cfg):
            for key, step in steps(pipeline, where):
                if step['type'] in STAND_INS:
                    yield pytest.param(
                        path, where, key, id=f'{path.name}:'
                        f'{key}')


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_every_step_of_ours_is_known(path):
    """A new step of ours must be listed above: as a stand-in (and then
    tested below) or as a transform of its own."""
    if 'det' in path.relative_to(ROOT / 'configs').parts:
        pytest.importorskip('mmdet')  # their bases are mmdet:: configs
    cfg = Config.fromfile(path)
    scope = cfg.get('default_scope', 'mmpretrain')
    with DefaultScope.overwrite_default_scope(scope):
        found = {
            step['type']
            for where, pipeline in pipelines(cfg)
            for _, step in steps(pipeline, where) if ours(step['type'])
        }
    assert found <= set(STAND_INS) | OWN


@pytest.mark.parametrize('path,where,key', list(cases()))
def test_switching_to_the_upstream_type_builds_and_runs(
        photos, path, where, key):
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({f'{key}.type': STAND_INS[cfg_get(cfg, key)['type']]})
    switched = cfg_get(cfg, key)
    assert switched['type'] in STAND_INS.values()
    pipeline = dict(pipelines(cfg))[where]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        run = Compose([TRANSFORMS.build(step) for step in pipeline])
    assert not any(
        ours(type(t).__name__) and type(t).__name__ in STAND_INS
        for t in run.transforms)
    for name in PHOTOS:
        out = run(dict(img_path=str(photos / 'val' / name), gt_label=0))
        inputs = out['inputs']
        views = inputs if isinstance(inputs, list) else [inputs]
        assert all(v.shape[0] == 3 and v.ndim == 3 for v in views)
        assert np.isfinite(float(views[0].float().mean()))


def cfg_get(cfg, key):
    node = cfg
    for part in key.split('.'):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node
