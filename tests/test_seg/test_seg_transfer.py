"""Segmentation transfer with mmseg: the configs/seg segmentors on the
digits demo's trunk load an mmprelu classification checkpoint into their
backbone (every key, no warning), train a few iterations through mmengine's
Runner on CPU on the photo set, predict each photograph in its own shape
with whole and slide inference, and save a weights-only checkpoint."""
import logging
import warnings
from pathlib import Path

import pytest
import torch

from seg_helpers import ROOT, TINY, require_mmseg, shrink_to_digits_trunk

require_mmseg()

from mmengine.config import Config  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402

import mmprelu  # noqa: E402

SEG = ROOT / 'configs' / 'seg'
CONFIGS = {
    'fcn': SEG / 'fcn_prelu-net-c-d8_4xb4-80k_ade20k-512x512.py',
    'upernet': SEG / 'upernet_prelu-net-c_4xb4-80k_ade20k-512x512.py',
    'deeplabv3': SEG / 'deeplabv3_prelu-net-c-d8_4xb4-80k_ade20k-512x512.py',
}
ITERS = 6


@pytest.fixture(autouse=True)
def mmseg_scope():
    """mmseg's scope for each test, the previous one restored after it."""
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


class Records(logging.Handler):
    """Collects the records of mmengine's current logger."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_bare_type_is_not_found_from_mmseg_scope():
    arch = Config.fromfile(TINY).model.backbone.arch
    with pytest.raises(KeyError, match='PReLUNet is not in the mmseg::model'):
        MODELS.build(dict(type='PReLUNet', arch=arch))
    for name in ('mmpretrain.PReLUNet', 'mmprelu.PReLUNet'):
        assert isinstance(
            MODELS.build(dict(type=name, arch=arch)), mmprelu.PReLUNet)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_pretrained_loads_every_backbone_key_quietly(name, cls_checkpoint):
    """Pretrained with prefix='backbone.' through mmprelu's weights-only
    loader: every backbone key and value (slopes too); the SPP neck and fc
    head keys of the classifier are left out without a warning."""
    path, backbone_state = cls_checkpoint
    cfg = shrink_to_digits_trunk(Config.fromfile(CONFIGS[name]), path)
    model = MODELS.build(cfg.model)
    handler = Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            model.init_weights()
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in handler.records] == []
    assert [str(w.message) for w in caught
            if 'key' in str(w.message).lower()] == []
    state = model.backbone.state_dict()
    assert set(state) == set(backbone_state)
    slopes = [k for k in state if k.endswith('act.weight')]
    assert len(slopes) == 5
    for key, value in backbone_state.items():
        assert torch.equal(state[key], value), key
    assert not torch.equal(state[slopes[0]],
                           torch.full_like(state[slopes[0]], 0.25))


@pytest.fixture(scope='module')
def trained(cls_checkpoint, seg_photos, tmp_path_factory):
    """The tiny config as shipped, from the classification checkpoint,
    ITERS iterations on the photo set (batches of 4, no validation)."""
    cfg = Config.fromfile(TINY)
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained',
        checkpoint=str(cls_checkpoint[0]),
        prefix='backbone.')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(num_workers=0, persistent_workers=False)
        cfg[loader].dataset.data_root = str(seg_photos)
    cfg.train_dataloader.batch_size = 4
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=ITERS, val_interval=ITERS + 1)
    cfg.param_scheduler[0].end = ITERS
    cfg.default_hooks.checkpoint.interval = ITERS
    cfg.default_hooks.logger.interval = 1
    cfg.visualizer.name = 'seg_transfer'
    cfg.work_dir = str(tmp_path_factory.mktemp('seg_transfer'))
    threads = torch.get_num_threads()
    try:
        with torch.random.fork_rng(), \
                DefaultScope.overwrite_default_scope('mmseg'):
            torch.set_num_threads(1)
            runner = Runner.from_cfg(cfg)
            runner.train()
    finally:
        torch.set_num_threads(threads)
    return cfg, runner


def test_loss_finite_and_slopes_without_weight_decay(trained):
    """PReLUOptimWrapperConstructor resolved from mmseg's scope (§2.1)."""
    cfg, runner = trained
    loss = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(loss) == ITERS and all(
        map(torch.isfinite, torch.as_tensor(loss)))
    slopes = {
        id(m.weight)
        for m in runner.model.modules() if isinstance(m, torch.nn.PReLU)
    }
    groups = runner.optim_wrapper.optimizer.param_groups
    decays = {id(p): g['weight_decay'] for g in groups for p in g['params']}
    assert len(slopes) == 5 and all(decays[s] == 0 for s in slopes)
    wd = cfg.optim_wrapper.optimizer.weight_decay
    assert any(d == wd for k, d in decays.items() if k not in slopes)


def test_checkpoint_is_weights_only(trained):
    """WeightsOnlyCheckpointHook, named 'mmpretrain.X' in the mmseg
    runtime: the saved file loads with plain torch.load."""
    cfg, _ = trained
    checkpoint = torch.load(
        Path(cfg.work_dir) / f'iter_{ITERS}.pth', weights_only=True)
    assert 'backbone.stages.2.conv2.act.weight' in checkpoint['state_dict']
    assert checkpoint['meta']['iter'] == ITERS


@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_each_photo_predicted_in_its_own_shape(trained, seg_photos, mode):
    """The val photographs (landscape, portrait, square; colour and grey)
    through the config's test pipeline one at a time: the predicted mask
    has the photograph's shape and the dataset's labels; the IoU metric
    comes out of the test loop."""
    cfg, runner = trained
    runner.model.test_cfg.mode = mode
    loader = runner.test_dataloader
    shapes, grey = set(), 0
    runner.model.eval()
    with torch.no_grad():
        for batch in loader:
            (sample, ) = runner.model.test_step(batch)
            ori_h, ori_w = sample.ori_shape
            assert sample.pred_sem_seg.data.shape == (1, ori_h, ori_w)
            assert sample.seg_logits.data.shape == (3, ori_h, ori_w)
            assert set(sample.pred_sem_seg.data.unique().tolist()) <= {0, 1, 2}
            shapes.add((ori_h > ori_w) - (ori_h < ori_w))
            grey += batch['inputs'][0].shape[0] == 3 and bool(
                (batch['inputs'][0][0] == batch['inputs'][0][1]).all())
    assert shapes == {-1, 0, 1} and grey >= 3
    metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100 and 0 < metrics['aAcc'] <= 100
