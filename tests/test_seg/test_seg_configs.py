"""configs/seg: self-contained mmseg configs whose heads agree with the
PReLU-net stages they name, trained with our optimizer constructor and
tested on sliding windows. Runs without mmseg: the backbone is built from a
downstream registry scope, on the meta device."""
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import HOOKS as ROOT_HOOKS
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as ROOT_CONSTRUCTORS
from mmengine.registry import Registry

import mmprelu

ROOT = Path(__file__).resolve().parents[2]
SEG = ROOT / 'configs' / 'seg'
CONFIGS = sorted(SEG.glob('*.py'))
CLS_DATA = ROOT / 'configs/_base_/datasets/imagenet_bs16_scale_jitter.py'
# stand-ins for mmseg's registries: children of mmengine's roots
MMSEG_LIKE = Registry('model', parent=ROOT_MODELS, scope='mmseg_like')
CONSTRUCTORS = Registry(
    'optim wrapper constructor', parent=ROOT_CONSTRUCTORS, scope='mmseg_like')
HOOKS = Registry('hook', parent=ROOT_HOOKS, scope='mmseg_like')
HEADS = ('decode_head', 'auxiliary_head')


@pytest.fixture(params=CONFIGS, ids=[p.name for p in CONFIGS])
def cfg(request):
    return Config.fromfile(request.param)


def test_there_are_seg_configs():
    names = {p.name for p in CONFIGS}
    for algo, d in (('fcn', '-d8'), ('upernet', ''), ('deeplabv3', '-d8')):
        for arch in 'ac':
            assert f'{algo}_prelu-net-{arch}{d}_4xb4-80k_ade20k-512x512.py' \
                in names
    assert 'fcn_prelu-net-tiny-d4_1xb8-200it_photos-128x128.py' in names
    # no `mmseg::` inheritance (it needs pkg_resources): our own bases
    for path in SEG.rglob('*.py'):
        assert not re.search(r"['\"]\w+::", path.read_text()), path


def test_runtime_is_mmseg_with_mmprelu_imported(cfg):
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(
        imports=['mmprelu', 'mmprelu.engine.safe_loading'],
        allow_failed_imports=False)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert [s['type'] for s in cfg.param_scheduler] == ['PolyLR']
    assert cfg.param_scheduler[0].end == cfg.train_cfg.max_iters
    assert cfg.default_hooks.checkpoint.by_epoch is False
    assert cfg.tta_model.type == 'SegTTAModel'


def test_only_the_backbone_is_ours(cfg):
    model = cfg.model
    assert model.type == 'EncoderDecoder' and 'pretrained' not in model
    assert model.data_preprocessor.type == 'SegDataPreProcessor'
    assert {model.decode_head.type,
            model.auxiliary_head.type} <= {'FCNHead', 'UPerHead', 'ASPPHead'}
    backbone = model.backbone
    assert backbone.type == 'mmpretrain.PReLUNet'
    assert backbone.norm_cfg is None
    if 'tiny' in cfg.filename:
        assert 'init_cfg' not in backbone  # MSRA: no checkpoint needed
    else:
        assert backbone.init_cfg == dict(
            type='Pretrained',
            prefix='backbone.',
            checkpoint=f'checkpoints/prelu-net-{backbone.arch.lower()}'
            f'_in1k.pth')
    # each head carries its own norm (a top-level norm_cfg reaches none)
    for head in HEADS:
        assert model[head].norm_cfg == dict(type='SyncBN', requires_grad=True)


def test_inputs_normalised_as_in_classification(cfg):
    cls = Config.fromfile(CLS_DATA).data_preprocessor
    seg = cfg.model.data_preprocessor
    assert seg.mean == cls.mean and seg.std == cls.std == [1., 1., 1.]
    assert seg.bgr_to_rgb == cls.to_rgb
    assert (seg.pad_val, seg.seg_pad_val) == (0, 255)


def test_one_crop_size_everywhere_and_slide_test(cfg):
    """mmseg needs data_preprocessor.size (or size_divisor) to batch the
    training crops; the slide windows have the crop's size."""
    (crop, ) = [
        tuple(step['crop_size']) for step in cfg.train_pipeline
        if step['type'] == 'RandomCrop'
    ]
    assert tuple(cfg.model.data_preprocessor.size) == crop
    test_cfg = cfg.model.test_cfg
    assert test_cfg.mode == 'slide' and tuple(test_cfg.crop_size) == crop
    assert all(0 < s < c for s, c in zip(test_cfg.stride, crop))
    assert cfg.train_dataloader.dataset.pipeline == cfg.train_pipeline
    assert cfg.val_evaluator.iou_metrics == ['mIoU']


def test_optimizer_keeps_decay_off_slopes_and_clips(cfg):
    wrapper = cfg.optim_wrapper
    assert CONSTRUCTORS.get(wrapper.constructor) is \
        mmprelu.PReLUOptimWrapperConstructor
    assert wrapper.clip_grad == dict(max_norm=35, norm_type=2)
    assert wrapper.optimizer.type == 'SGD'
    assert wrapper.optimizer.weight_decay > 0
    for name in ('weights_only_checkpoint', 'slope_decay_check'):
        assert HOOKS.get(cfg.default_hooks[name].type) is getattr(
            mmprelu, {
                'weights_only_checkpoint': 'WeightsOnlyCheckpointHook',
                'slope_decay_check': 'SlopeDecayCheckHook'
            }[name])


@pytest.mark.parametrize('type_name',
                         ['mmpretrain.PReLUNet', 'mmprelu.PReLUNet'])
def test_features_match_the_heads(cfg, type_name):
    """At full width, on the meta device: the stages the heads read have
    the channels they expect, at the output stride of the config's name."""
    with torch.device('meta'):
        backbone = MMSEG_LIKE.build(
            dict(cfg.model.backbone, type=type_name, init_cfg=None))
        feats = backbone(torch.empty(1, 3, 128, 128))
    assert isinstance(backbone, mmprelu.PReLUNet)
    name = Path(cfg.filename).name
    stride = int(re.search(r'-d(\d+)_', name).group(1)) if '-d' in name \
        else max(backbone.strides)
    assert backbone.strides[-1] == stride
    assert [128 // f.shape[-1] for f in feats
            ] == [backbone.strides[i] for i in backbone.out_indices]
    for head in HEADS:
        head = cfg.model[head]
        index = head.in_index
        channels = [feats[i].shape[1] for i in index] if isinstance(
            index, (list, tuple)) else feats[index].shape[1]
        assert channels == head.in_channels, (head.type, channels)
        assert head.num_classes == (3 if 'photos' in name else 150)
    if cfg.model.decode_head.type == 'ASPPHead':  # rates for stride 8
        assert cfg.model.decode_head.dilations == (1, 12, 24, 36)
