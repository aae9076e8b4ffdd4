"""Every PReLU-net config (configs/*.py, configs/experiments/) loads, carries
mmprelu's imports, builds and follows the paper's recipe. The zoo,
detection and segmentation configs have their own tests
(test_zoo_configs.py, tests/test_det, tests/test_seg).
"""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmprelu.datasets.samplers import ExactResumeSampler
from mmprelu.registry import DATA_SAMPLERS, DATASETS, MODELS, TRANSFORMS

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    p for p in (ROOT / 'configs').rglob('*.py')
    if not {'_base_', 'zoo', 'det', 'seg'}
    & set(p.relative_to(ROOT / 'configs').parts))
CONFIG_IDS = [str(p.relative_to(ROOT / 'configs')) for p in CONFIGS]


@pytest.fixture(params=CONFIGS, ids=CONFIG_IDS)
def cfg(request):
    init_default_scope('mmpretrain')
    return Config.fromfile(request.param)


def test_there_are_configs():
    names = {p.name for p in CONFIGS}
    for required in ('prelu_net_a_8xb16.py', 'prelu_net_b_8xb16.py',
                     'prelu_net_c_8xb16.py', 'relu_net_a_8xb16.py',
                     'prelu_net_14_8xb16.py', 'prelu_net_14_shared_8xb16.py',
                     'relu_net_14_8xb16.py', 'prelu_net_tiny_1xb64_digits.py'):
        assert required in names


def test_runtime_and_imports(cfg):
    assert cfg.default_scope == 'mmpretrain'
    assert 'mmprelu' in cfg.custom_imports['imports']
    assert cfg.custom_imports['allow_failed_imports'] is False
    assert 'weights_only_checkpoint' in cfg.default_hooks


def test_model_builds_and_runs(cfg):
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
        crop = cfg.val_dataloader.dataset.pipeline[-2]['crop_size']
        logits = model(torch.empty(1, 3, crop, crop), mode='tensor')
    assert logits.shape == (1, cfg.model.head.num_classes)


def test_pipelines_build(cfg):
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in cfg[loader].dataset.pipeline:
            assert TRANSFORMS.build(step) is not None
        assert DATASETS.get(cfg[loader].dataset.type) is not None


def check_exact_resume_is_named(cfg):
    """Both pieces of the exact resume are in the config: the
    train sampler and the hook; evaluation keeps DefaultSampler."""
    assert cfg.default_hooks.exact_resume.type == 'ExactResumeHook'
    assert cfg.train_dataloader.sampler.type == 'ExactResumeSampler'
    assert DATA_SAMPLERS.get('ExactResumeSampler') is ExactResumeSampler
    for loader in ('val_dataloader', 'test_dataloader'):
        assert cfg[loader].sampler.type == 'DefaultSampler'


def test_exact_resume_is_named(cfg):
    check_exact_resume_is_named(cfg)


def test_optimizer_rules(cfg):
    assert cfg.optim_wrapper.constructor == 'PReLUOptimWrapperConstructor'
    assert cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    assert cfg.auto_scale_lr.base_batch_size > 0


def test_paper_protocol_is_the_tta_setting(cfg):
    assert 'test_cfg' not in cfg.model  # ImageClassifier's arguments only
    # views per image: the product of the final TestTimeAug's option counts
    views = math.prod(map(len, cfg.tta_pipeline[-1].transforms))
    if cfg.tta_model.type == 'DenseWindowTTA':
        # 3 scales x 2 flips (Table 4); the digits demo has no flips (a
        # mirrored digit is another glyph)
        flip = (cfg.get('test_protocol') or {}).get('flip', True)
        assert views == (6 if flip else 3)
        # the window is the last map of a training crop (14 for 224)
        from mmprelu.apis import feature_map_size
        crop = next(step['crop_size']
                    for step in cfg.train_dataloader.dataset.pipeline
                    if step['type'] == 'RandomCrop')
        assert cfg.tta_model.get('window', 14) == feature_map_size(
            cfg.model.backbone.arch, crop)
    else:
        assert cfg.tta_model.type == 'AverageClsScoreTTA'
        assert views == 10  # 10-view (Table 2), AlexNet's: corners of the
        # central square of the resized image
        resize, square = cfg.tta_pipeline[-1].transforms[:2]
        assert square == [
            dict(
                type='PositionalCrop',
                crop_size=resize[0]['scale'],
                position='center')
        ]
    steps = TRANSFORMS.build(cfg.tta_pipeline[-1])
    assert steps is not None


# §4: the compared ReLU/PReLU models are trained for the same number of
# epochs with the lr switched at the same epochs.
COMPARED = {
    'table2_14_layer': ('relu_net_14_8xb16.py', 'prelu_net_14_shared_8xb16.py',
                        'prelu_net_14_8xb16.py'),
    'table4_model_a': ('relu_net_a_8xb16.py', 'prelu_net_a_8xb16.py'),
}


@pytest.mark.parametrize('names', list(COMPARED.values()), ids=list(COMPARED))
def test_compared_pairs_share_a_fixed_schedule(names):
    cfgs = [Config.fromfile(ROOT / 'configs' / n) for n in names]
    first = cfgs[0]
    assert first.param_scheduler.type == 'MultiStepLR'  # not on plateaus
    milestones = first.param_scheduler.milestones
    assert 0 < min(milestones) and max(milestones) < first.train_cfg.max_epochs
    for name, cfg in zip(names[1:], cfgs[1:]):
        assert cfg.param_scheduler.to_dict() == \
            first.param_scheduler.to_dict(), name
        assert cfg.train_cfg.max_epochs == first.train_cfg.max_epochs, name
        assert cfg.optim_wrapper.to_dict() == first.optim_wrapper.to_dict()
        # the members differ in the activation only
        assert cfg.model.backbone.act_cfg != first.model.backbone.act_cfg


def test_table2_epochs_and_plateau_rule_kept():
    cfg = Config.fromfile(ROOT / 'configs' / 'prelu_net_14_8xb16.py')
    assert cfg.train_cfg.max_epochs == 75  # Table 2 caption
    assert list(cfg.param_scheduler.milestones) == [45, 65]
    plateau = Config.fromfile(ROOT / 'configs' / '_base_' / 'schedules' /
                              'imagenet_plateau_bs128.py')
    assert plateau.param_scheduler.type == 'ReduceOnPlateauLR'
    for name in ('prelu_net_b_8xb16.py', 'prelu_net_c_8xb16.py'):
        cfg = Config.fromfile(ROOT / 'configs' / name)
        assert cfg.param_scheduler.type == 'ReduceOnPlateauLR', name


def test_test_loader_does_not_stack_images(cfg):
    """Whole-image views of a real val set have mixed shapes: the test
    loader keeps them apart (stock tools/test.py keeps a collate_fn the
    config names); validation (centre crops) is stacked as usual."""
    assert cfg.test_dataloader.collate_fn == dict(type='pseudo_collate')
    assert 'collate_fn' not in cfg.val_dataloader
    assert cfg.test_dataloader.dataset == cfg.val_dataloader.dataset
    assert cfg.test_dataloader.batch_size == cfg.val_dataloader.batch_size
