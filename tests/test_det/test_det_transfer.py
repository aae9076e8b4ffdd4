"""Detection transfer with mmdet: the configs/det detectors, shrunk to a
tiny PReLU-net, load an mmprelu classification checkpoint into their
backbone, train a few iterations through mmengine's Runner on CPU, predict,
and save a weights-only checkpoint."""
import copy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip(
    'mmdet',
    reason='mmdet is not installed (mmcv-lite '
    'path, see DEVELOPERS.md): detection transfer untested')
pytest.importorskip(
    'mmcv.ops',
    reason='mmcv has no compiled ops (mmcv-lite):'
    ' mmdet needs nms/RoIAlign')

from mmengine.config import Config  # noqa: E402
from mmengine.logging import HistoryBuffer  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmprelu  # noqa: E402
from mmprelu.engine.hooks.checkpoint_hook import to_plain_types  # noqa: E402
from mmprelu.models.utils.init import msra_std  # noqa: E402
from mmprelu.registry import MODELS as PRETRAIN_MODELS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {
    'faster_rcnn': ROOT / 'configs/det/faster-rcnn_prelu-net-c_fpn_1x_coco.py',
    'retinanet': ROOT / 'configs/det/retinanet_prelu-net-c_fpn_1x_coco.py',
}
# arch C's layout (7x7/2 conv1, pool before each 3x3 stage, strides
# 2/4/8/16) at a few channels
TINY = dict(
    channels=(8, 16, 24, 32),
    depths=(1, 1, 1, 1),
    kernel_sizes=(7, 3, 3, 3),
    strides=(2, 1, 1, 1),
    pools=(None, (2, 2), (2, 2), (2, 2)))
FPN_WIDTH = 16
CLASSES = ('red', 'green')  # of conftest.py's coco_root
ITERS = 24
LR = dict(faster_rcnn=0.01, retinanet=0.02)


@pytest.fixture(scope='module')
def cls_checkpoint(tmp_path_factory):
    """A tiny PReLUNetClassifier checkpoint as tools/train.py saves it
    (WeightsOnlyCheckpointHook: plain types, marker dicts for buffers)."""
    torch.manual_seed(0)
    model = PRETRAIN_MODELS.build(
        dict(
            type='PReLUNetClassifier',
            backbone=dict(type='PReLUNet', arch=TINY),
            neck=dict(type='SpatialPyramidPooling', levels=(2, 1)),
            head=dict(
                type='PReLUNetHead',
                num_classes=3,
                in_channels=32 * 5,
                mid_channels=(8, 8))))
    model.init_weights()
    with torch.no_grad():  # slopes as after training, not the 0.25 init
        for p in model.backbone.parameters():
            p.add_(torch.rand_like(p) * 0.1)
    checkpoint = to_plain_types(
        dict(
            meta=dict(epoch=1, iter=10, mmpretrain_version='1.2.0'),
            state_dict=model.state_dict(),
            message_hub=dict(
                log_scalars={
                    'train/loss':
                    HistoryBuffer(np.array([2.0, 1.5]), np.array([1, 1]))
                })))
    path = tmp_path_factory.mktemp('cls') / 'epoch_1.pth'
    torch.save(checkpoint, path)
    torch.load(path, weights_only=True)  # what torch >= 2.6 does by default
    return path, {
        k[len('backbone.'):]: v
        for k, v in model.state_dict().items() if k.startswith('backbone.')
    }


def tiny_cfg(name, checkpoint, data_root, work_dir):
    """The configs/det file with the tiny backbone, narrow FPN/heads, the
    toy dataset as one fixed batch, constant lr, no warm-up."""
    cfg = Config.fromfile(CONFIGS[name])
    model = cfg.model
    backbone = mmprelu.PReLUNet(TINY)
    model.backbone.arch = TINY
    model.backbone.init_cfg.checkpoint = str(checkpoint)
    model.neck.in_channels = [
        backbone.out_channels[i] for i in model.backbone.out_indices
    ]
    model.neck.out_channels = FPN_WIDTH
    model.neck.norm_cfg.num_groups = 4
    if name == 'faster_rcnn':
        model.rpn_head.update(in_channels=FPN_WIDTH, feat_channels=FPN_WIDTH)
        model.roi_head.bbox_roi_extractor.out_channels = FPN_WIDTH
        model.roi_head.bbox_head.update(
            in_channels=FPN_WIDTH, fc_out_channels=32, num_classes=2)
        model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=50)
        model.train_cfg.rcnn.sampler.num = 64
        model.test_cfg.rpn.update(nms_pre=200, max_per_img=50)
    else:
        model.bbox_head.update(
            in_channels=FPN_WIDTH,
            feat_channels=FPN_WIDTH,
            stacked_convs=1,
            num_classes=2)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(96, 96), keep_ratio=True),
        dict(type='PackDetInputs'),
    ]
    cfg.train_dataloader = dict(
        batch_size=4,
        num_workers=0,
        persistent_workers=False,
        # infinite: the iteration loop sleeps 2 s whenever a loader restarts
        sampler=dict(type='InfiniteSampler', shuffle=False),
        dataset=dict(
            type='CocoDataset',
            data_root=str(data_root),
            ann_file='train.json',
            data_prefix=dict(img='images/'),
            metainfo=dict(classes=CLASSES),
            pipeline=pipeline))
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=ITERS)
    cfg.param_scheduler = []
    cfg.optim_wrapper.optimizer.lr = LR[name]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=ITERS, by_epoch=False)
    cfg.default_hooks.logger.interval = ITERS
    cfg.log_processor = dict(by_epoch=False)
    cfg.visualizer.name = f'det_transfer_{name}'
    cfg.randomness = dict(seed=0)
    cfg.work_dir = str(work_dir)
    return cfg


def fixed_batch(cfg):
    """The training batch, from a fresh loader: the runner's infinite
    sampler is a single generator, closed once an iterator over it is
    garbage-collected."""
    loader = copy.deepcopy(cfg.train_dataloader)
    loader['sampler'] = dict(type='DefaultSampler', shuffle=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return next(iter(Runner.build_dataloader(loader)))


@pytest.fixture(scope='module', params=sorted(CONFIGS))
def trained(request, cls_checkpoint, coco_root, tmp_path_factory):
    name = request.param
    work_dir = tmp_path_factory.mktemp(name)
    cfg = tiny_cfg(name, cls_checkpoint[0], coco_root, work_dir)
    threads = torch.get_num_threads()
    try:
        with torch.random.fork_rng():
            torch.set_num_threads(1)
            runner = Runner.from_cfg(cfg)
            runner.train()
    finally:
        torch.set_num_threads(threads)
    return name, cfg, runner


def test_pretrained_init_loads_every_backbone_weight(cls_checkpoint, coco_root,
                                                     tmp_path):
    """Pretrained + prefix='backbone.' under mmdet's scope, through
    mmprelu's weights-only loader: every key, every value (slopes too)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'mmdet'
    for name in CONFIGS:
        cfg = tiny_cfg(name, cls_checkpoint[0], coco_root, tmp_path)
        model = MODELS.build(cfg.model)
        assert isinstance(model.backbone, mmprelu.PReLUNet)
        model.init_weights()
        state = model.backbone.state_dict()
        assert set(state) == set(cls_checkpoint[1])
        for key, value in cls_checkpoint[1].items():
            assert torch.equal(state[key], value), key


def test_msra_init_resolves_under_mmdet_scope(cls_checkpoint, coco_root,
                                              tmp_path):
    """Without Pretrained the trunk keeps PReLUNet's default init_cfg,
    'MSRA' (Eq. 15, fan_out), found through mmengine's root registry."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = tiny_cfg('retinanet', cls_checkpoint[0], coco_root, tmp_path)
    cfg.model.backbone.pop('init_cfg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    last = model.backbone.stages[3].conv1
    assert last.conv.weight.std().item() == pytest.approx(
        msra_std(last.conv.weight, 'fan_out', 0.25), rel=0.1)
    assert torch.all(last.act.weight == 0.25)


def test_features_match_fpn_config(trained):
    name, cfg, runner = trained
    model = runner.model
    backbone = model.backbone
    feats = backbone(torch.zeros(1, 3, 96, 96))
    indices = cfg.model.backbone.out_indices
    assert [f.shape[1] for f in feats] == list(cfg.model.neck.in_channels)
    assert [96 // f.shape[-1] for f in feats] == \
        [backbone.strides[i] for i in indices]
    outs = model.neck(feats)
    head = model.rpn_head if name == 'faster_rcnn' else model.bbox_head
    strides = [s[0] for s in head.prior_generator.strides]
    assert [96 // o.shape[-1] for o in outs[:3]] == strides[:3]
    assert all(o.shape[1] == FPN_WIDTH for o in outs)


def test_loss_finite_and_falling(trained):
    """Same batch every iteration. Faster R-CNN: the RoI box loss starts
    near 0 (only the ground truth boxes, added as proposals, match) and
    grows as the RPN learns to find the objects, so we follow the RPN and
    RoI classification losses; RetinaNet: the total."""
    name, _, runner = trained
    hub = runner.message_hub
    total = hub.get_scalar('train/loss').data[0]
    assert len(total) == ITERS and np.isfinite(total).all()
    keys = (['loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls']
            if name == 'faster_rcnn' else ['loss'])
    loss = sum(hub.get_scalar(f'train/{k}').data[0] for k in keys)
    # measured over 4 seeds: 0.55-0.70 (Faster R-CNN), 0.63-0.70 (RetinaNet)
    assert loss[-5:].mean() < 0.85 * loss[:5].mean(), (keys, loss)


def test_frozen_stages_stay_frozen(trained, cls_checkpoint):
    name, cfg, runner = trained
    model = runner.model
    model.train()
    frozen = cfg.model.backbone.frozen_stages
    assert frozen == 1
    for i, stage in enumerate(model.backbone.stages):
        params = dict(stage.named_parameters())
        assert all(p.requires_grad == (i > frozen) for p in params.values())
        assert stage.training == (i > frozen)
        if i <= frozen:  # trained ITERS steps, still the checkpoint's
            for key, p in params.items():
                assert torch.equal(p, cls_checkpoint[1][f'stages.{i}.{key}'])
    batch = fixed_batch(cfg)
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    model.zero_grad(set_to_none=True)
    total.backward()
    for i, stage in enumerate(model.backbone.stages):
        grads = [p.grad is not None for p in stage.parameters()]
        assert all(g == (i > frozen) for g in grads), (name, i)


def test_slopes_have_no_weight_decay(trained):
    """PReLUOptimWrapperConstructor resolved from mmdet's scope (§2.1)."""
    _, cfg, runner = trained
    slopes = {
        id(m.weight)
        for m in runner.model.modules() if isinstance(m, torch.nn.PReLU)
    }
    groups = runner.optim_wrapper.optimizer.param_groups
    decays = {id(p): g['weight_decay'] for g in groups for p in g['params']}
    assert slopes and all(decays[s] == 0 for s in slopes if s in decays)
    wd = cfg.optim_wrapper.optimizer.weight_decay
    assert any(d == wd for k, d in decays.items() if k not in slopes)


def test_predict_returns_det_data_samples(trained):
    from mmdet.structures import DetDataSample
    _, cfg, runner = trained
    batch = fixed_batch(cfg)
    runner.model.eval()
    with torch.no_grad():
        results = runner.model.test_step(batch)
    assert len(results) == 4
    for sample in results:
        assert isinstance(sample, DetDataSample)
        pred = sample.pred_instances
        assert pred.bboxes.shape[1] == 4
        assert len(pred.bboxes) == len(pred.scores) == len(pred.labels)
        assert set(pred.labels.tolist()) <= {0, 1}
        assert sample.ori_shape == (96, 96)
        if len(pred.bboxes):
            assert pred.bboxes.min() >= 0 and pred.bboxes.max() <= 96


def test_detection_checkpoint_is_weights_only(trained):
    """WeightsOnlyCheckpointHook, named 'mmpretrain.X' in the mmdet
    runtime, makes the saved file loadable by plain torch.load."""
    _, cfg, runner = trained
    path = Path(cfg.work_dir) / f'iter_{ITERS}.pth'
    checkpoint = torch.load(path, weights_only=True)
    assert 'backbone.stages.3.conv1.act.weight' in checkpoint['state_dict']
    assert checkpoint['meta']['iter'] == ITERS


def test_predict_on_non_square_photos(trained, photos):
    """A landscape and a portrait photograph (tests/conftest.py) in one
    batch, through the config's test pipeline at a small scale: mmdet pads
    them to a multiple of 32, every level of the trunk keeps each axis's
    own size, and each image's boxes come back in its own frame."""
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate
    _, cfg, runner = trained
    steps = [
        dict(step) for step in cfg.test_pipeline
        if step['type'] != 'LoadAnnotations'
    ]
    for step in steps:
        if step['type'] == 'Resize':
            # keep_ratio: longer side <= 160, shorter side <= 96
            step['scale'] = (160, 96)
    names = ['coffee_orig.JPEG', 'hubble_deep_field_rot.png']
    with DefaultScope.overwrite_default_scope('mmdet'):
        pipeline = Compose(steps)
        batch = pseudo_collate([
            pipeline(dict(img_path=str(photos / 'val' / name), img_id=i))
            for i, name in enumerate(names)
        ])
    runner.model.eval()
    with torch.no_grad():
        data = runner.model.data_preprocessor(batch, False)
        feats = runner.model.backbone(data['inputs'])
        results = runner.model.test_step(batch)
    height, width = data['inputs'].shape[-2:]
    assert height != width and height % 32 == 0 and width % 32 == 0
    for feat, index in zip(feats, cfg.model.backbone.out_indices):
        stride = runner.model.backbone.strides[index]
        assert tuple(feat.shape[-2:]) == (height // stride, width // stride)
    orientations = set()
    for name, sample in zip(names, results):
        ori_h, ori_w = cv2.imread(str(photos / 'val' / name)).shape[:2]
        assert sample.ori_shape == (ori_h, ori_w)
        img_h, img_w = sample.img_shape
        assert max(img_h, img_w) <= 160 and min(img_h, img_w) <= 96
        assert img_h != img_w
        orientations.add(img_h > img_w)
        boxes = sample.pred_instances.bboxes
        assert len(boxes) > 0
        assert boxes[:, 0::2].max() <= ori_w + 1e-3
        assert boxes[:, 1::2].max() <= ori_h + 1e-3
        assert boxes.min() >= 0
    assert orientations == {True, False}
