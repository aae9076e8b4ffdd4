"""validate_config: invalid values fail when the config is loaded, naming
the key and what is valid."""
import glob
import importlib.util
from pathlib import Path

import pytest
from mmengine.config import Config

import mmprelu  # noqa: F401
from mmprelu.apis import feature_map_size, validate_config
from mmprelu.apis.validate import check_option_keys

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / 'configs' / 'prelu_net_tiny_1xb64_digits.py'
HAS_MMDET = importlib.util.find_spec('mmdet') is not None
CONFIGS = sorted(
    glob.glob(str(ROOT / 'configs' / '*.py')) + [
        path for sub in ('experiments', 'zoo') + ('det', ) * HAS_MMDET
        for path in glob.glob(str(ROOT / 'configs' / sub / '*.py'))
    ])


@pytest.fixture
def cfg():
    return Config.fromfile(DIGITS)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: Path(p).name)
def test_shipped_configs_are_valid(path):
    validate_config(Config.fromfile(path))


@pytest.mark.parametrize('arch,size,expected', [
    ('A', 224, 14),
    ('B', 224, 14),
    ('C', 224, 14),
    ('A', 256, 16),
    ('A', 480, 30),
    ('14', 224, 18),
])
def test_feature_map_size(arch, size, expected):
    assert feature_map_size(arch, size) == expected


def test_feature_map_size_matches_the_built_net():
    import torch

    from mmprelu.models.backbones.prelu_net import PReLUNet
    arch = dict(
        channels=(4, 8),
        depths=(1, 1),
        kernel_sizes=(7, 2),
        strides=(2, 1),
        pools=(None, (3, 3)))
    net = PReLUNet(arch=arch).eval()
    for size in (31, 40, 57):
        out = net(torch.zeros(1, 3, size, size))[-1]
        assert out.shape[-1] == feature_map_size(arch, size)


def set_train_step(cfg, index, **changes):
    cfg.train_dataloader.dataset.pipeline[index].update(changes)


@pytest.mark.parametrize(
    'mutate,words',
    [
        # unknown arch: the valid names in the message
        (lambda c: c.model.backbone.__setitem__('arch', 'Z'),
         ['model.backbone.arch', "'Z'"]),
        # unknown edge in the scale jitter (ResizeEdge's own check, located)
        (lambda c: set_train_step(c, 2, edge='shorter'),
         ['train_dataloader.dataset.pipeline[2]', 'shorter']),
        # crop larger than the smallest training scale
        (lambda c: set_train_step(c, 3, crop_size=72),
         ['pipeline[3]', 'crop_size=72', 'smallest image side 64']),
        # crop larger than the test resize
        (lambda c: c.val_dataloader.dataset.pipeline[2].update(crop_size=80),
         ['val_dataloader.dataset.pipeline[2]', 'crop_size=80']),
        # SPP finer than the last map of the training crop (56 -> 7x7)
        (lambda c: c.model.neck.update(levels=(8, 3, 2, 1)),
         ['model.neck.levels', 'finest level (8)', '7x7']),
        # dense window larger than the map at every test scale (8, 12, 15)
        (lambda c: c.tta_model.update(window=16),
         ['tta_model.window=16', 'every test scale']),
        # ... also once tools/test.py --tta has wrapped the model
        (lambda c: c.merge_from_dict(
            dict(
                model=dict(
                    _delete_=True,
                    type='DenseWindowTTA',
                    window=16,
                    module=c.model.to_dict()))),
         ['model.window=16', 'every test scale']),
        # unknown MSRA init mode
        (lambda c: c.model.backbone.update(
            init_cfg=dict(type='MSRA', mode='fan_sideways')),
         ['model.backbone.init_cfg', 'fan_sideways', 'fan_in']),
    ])
def test_invalid_values_fail(cfg, mutate, words):
    mutate(cfg)
    with pytest.raises(ValueError) as err:
        validate_config(cfg)
    for word in words:
        assert word in str(err.value)


def test_dense_window_fits_one_scale_is_accepted(cfg):
    # 80 -> 10x10 last map: a 10 window fits there (not at 64 or 72)
    cfg.tta_model.window = 10
    validate_config(cfg)
    cfg.tta_model = dict(type='AverageClsScoreTTA')  # no windows
    cfg.model.neck.levels = (7, 3, 2, 1)
    validate_config(cfg)


def test_padded_crop_is_accepted(cfg):
    set_train_step(cfg, 3, crop_size=72, pad_if_needed=True)
    validate_config(cfg)


def test_tta_crop_checked(cfg):
    cfg.tta_pipeline[1].transforms.insert(
        1, [dict(type='CenterCrop', crop_size=100)])
    with pytest.raises(ValueError, match=r'tta_pipeline\[1\].transforms'):
        validate_config(cfg)


@pytest.mark.parametrize(
    'where,index,step',
    [
        # mmcv's CenterCrop takes (w, h): 56 wide, 40 high -> a 5-row map
        ('val_dataloader', 2, dict(type='CenterCrop', crop_size=(56, 40))),
        # mmpretrain's RandomCrop takes (h, w): 40 high, 56 wide
        ('train_dataloader', 3, dict(type='RandomCrop', crop_size=(40, 56))),
    ])
def test_non_square_crops_checked_per_axis(cfg, where, index, step):
    """The SPP check of every pipeline's crops on each axis (a 40x56 crop
    gives a 5x7 map: too small for the 7x7 level along its height)."""
    cfg[where].dataset.pipeline[index] = step
    with pytest.raises(ValueError) as err:
        validate_config(cfg)
    message = str(err.value)
    assert 'finest level (7)' in message and '5x7 last map' in message
    assert (f'40x56 (h x w) crop of {where}.dataset.pipeline[{index}]'
            in message)


def test_small_test_scale_checked(cfg):
    cfg.test_protocol.scales = (40, 64)
    with pytest.raises(
            ValueError, match=r'5x5 last map of an image at '
            r'test scale 40'):
        validate_config(cfg)


@pytest.mark.parametrize('option,words', [
    ('trian_cfg.max_epochs',
     ["unknown top-level key 'trian_cfg'", "(did you mean 'train_cfg'?)"]),
    ('randomnes.seed', ["'randomnes' (did you mean 'randomness'?)"]),
    ('zzz', ["key 'zzz': neither", "valid keys: ['activation_checkpointing'"]),
])
def test_unknown_option_key(cfg, option, words):
    with pytest.raises(ValueError) as err:
        check_option_keys(cfg, {option: 1})
    assert all(w in str(err.value) for w in words), str(err.value)
    assert "'train_cfg'" in str(err.value)  # the valid keys are listed


def test_option_keys_of_the_config_and_the_runner(cfg):
    # the config's own variables, Runner arguments it lacks, tool keys
    check_option_keys(
        cfg, {
            'train_pipeline': [],
            'compile': True,
            'randomness.seed': 0,
            'tta_model': None,
            'model_wrapper_cfg.type': 'X',
            'test_protocol.scales': [64]
        })


@pytest.mark.parametrize('field,loop,words', [
    ('train_cfg', dict(by_epoch=True, max_epoch=1), [
        "train_cfg.max_epoch: EpochBasedTrainLoop takes no key 'max_epoch' "
        "(did you mean 'max_epochs'?)", "valid keys: ['by_epoch', "
        "'dynamic_intervals', 'max_epochs', 'val_begin', 'val_interval']"
    ]),
    ('train_cfg', dict(by_epoch=False, max_epochs=1),
     ["IterBasedTrainLoop takes no key 'max_epochs'", "'max_iters'"]),
    ('train_cfg', dict(type='IterBasedTrainLoop',
                       max_iter=1), ["(did you mean 'max_iters'?)"]),
    ('val_cfg', dict(fp61=True), [
        "val_cfg.fp61: ValLoop takes no key 'fp61' (did you mean 'fp16'?); "
        "valid keys: ['fp16', 'type']"
    ]),
    ('test_cfg', dict(type='TestLoop', by_epoch=True), ['TestLoop']),
])
def test_unknown_loop_key(cfg, field, loop, words):
    cfg[field] = loop
    with pytest.raises(ValueError) as err:
        validate_config(cfg)
    assert all(w in str(err.value) for w in words), str(err.value)


@pytest.mark.parametrize(
    'loop',
    [
        dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=2),
        dict(by_epoch=False, max_iters=2, val_begin=1),
        dict(max_epochs=1),  # no type, no by_epoch: the Runner says so itself
        dict(type='NoSuchLoop', anything=1),  # the registry names it
        # inherited through an mmdet:: base: mmengine tags it with its scope
        dict(type='EpochBasedTrainLoop', max_epochs=1, _scope_='mmengine'),
    ])
def test_valid_or_unknown_loops_pass(cfg, loop):
    cfg.train_cfg = loop
    validate_config(cfg)


def test_scope_tag_of_a_loop_is_no_key(cfg):
    """``_scope_`` (mmengine's tag on the dicts of a ``pkg::`` base, e.g.
    the loops of ``mmdet::`` schedules) names the registry scope; a
    misspelt key beside it still fails."""
    cfg.train_cfg = dict(
        _scope_='mmpretrain', type='EpochBasedTrainLoop', max_epochs=1)
    validate_config(cfg)
    cfg.train_cfg.max_epoch = 1
    with pytest.raises(ValueError, match="takes no key 'max_epoch'"):
        validate_config(cfg)
