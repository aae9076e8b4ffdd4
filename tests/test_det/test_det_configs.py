"""configs/det: mmdet configs whose FPN, anchors and RoI strides agree
with the PReLU-net stages they name. They inherit mmdet's own bases
(``mmdet::``), so reading them needs mmdet; the backbone is built from a
downstream registry scope, on the meta device."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import HOOKS as ROOT_HOOKS
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as ROOT_CONSTRUCTORS
from mmengine.registry import Registry

import mmprelu

pytest.importorskip(
    'mmdet',
    reason='the det configs inherit mmdet:: bases: '
    'mmdet is not installed')
ROOT = Path(__file__).resolve().parents[2]
DET = ROOT / 'configs' / 'det'
CONFIGS = sorted(DET.glob('*.py'))
CLS_DATA = ROOT / 'configs/_base_/datasets/imagenet_bs16_scale_jitter.py'
# stand-ins for mmdet's registries: children of mmengine's roots
MMDET_LIKE = Registry('model', parent=ROOT_MODELS, scope='mmdet_like')
CONSTRUCTORS = Registry(
    'optim wrapper constructor', parent=ROOT_CONSTRUCTORS, scope='mmdet_like')
HOOKS = Registry('hook', parent=ROOT_HOOKS, scope='mmdet_like')


@pytest.fixture(params=CONFIGS, ids=[p.name for p in CONFIGS])
def cfg(request):
    return Config.fromfile(request.param)


def test_there_are_det_configs():
    names = {p.name for p in CONFIGS}
    assert {
        'faster-rcnn_prelu-net-c_fpn_1x_coco.py',
        'retinanet_prelu-net-c_fpn_1x_coco.py'
    } <= names
    # mmdet's own bases are inherited (mmdet::), not copied
    texts = ''.join(path.read_text() for path in DET.rglob('*.py'))
    for base in ('datasets/coco_detection.py', 'schedules/schedule_1x.py',
                 'default_runtime.py'):
        assert f"'mmdet::_base_/{base}'" in texts, base
    assert not (DET / '_base_' / 'datasets').exists()


def test_runtime_is_mmdet_with_mmprelu_imported(cfg):
    assert cfg.default_scope == 'mmdet'
    assert cfg.custom_imports == dict(
        imports=['mmprelu', 'mmprelu.engine.safe_loading'],
        allow_failed_imports=False)
    assert cfg.train_cfg.max_epochs == 12
    assert [s['type']
            for s in cfg.param_scheduler] == ['LinearLR', 'MultiStepLR']


def test_backbone_is_pretrained_plain_prelu_net(cfg):
    backbone = cfg.model.backbone
    assert backbone.type == 'mmpretrain.PReLUNet'
    assert backbone.init_cfg == dict(
        type='Pretrained',
        prefix='backbone.',
        checkpoint=backbone.init_cfg.checkpoint)
    assert backbone.init_cfg.checkpoint.endswith('.pth')
    arch = backbone.arch.lower()
    # the example checkpoint name says which arch it must be
    assert f'prelu-net-{arch}_' in backbone.init_cfg.checkpoint
    assert backbone.norm_cfg is None and backbone.frozen_stages == 1
    assert cfg.model.neck.norm_cfg.type == 'GN'


def test_inputs_normalised_as_in_classification(cfg):
    cls = Config.fromfile(CLS_DATA).data_preprocessor
    det = cfg.model.data_preprocessor
    assert det.mean == cls.mean and det.std == cls.std == [1., 1., 1.]
    assert det.bgr_to_rgb == cls.to_rgb


def fpn_strides(in_strides, neck):
    """Output strides of mmdet's FPN: inputs from start_level, then extra
    levels (max pool or 3x3/2 conv) each halving the previous one."""
    strides = list(in_strides[neck.get('start_level', 0):])
    while len(strides) < neck.num_outs:
        strides.append(strides[-1] * 2)
    return strides


@pytest.mark.parametrize('type_name',
                         ['mmpretrain.PReLUNet', 'mmprelu.PReLUNet'])
def test_features_match_neck_and_heads(cfg, type_name):
    # the real widths, a 32x32 input (2x2 at stride 16): ~1 GMAC
    backbone = MMDET_LIKE.build(
        dict(cfg.model.backbone, type=type_name, init_cfg=None))
    with torch.no_grad():
        feats = backbone(torch.zeros(1, 3, 32, 32))
    assert isinstance(backbone, mmprelu.PReLUNet)
    indices = cfg.model.backbone.out_indices
    channels = [backbone.out_channels[i] for i in indices]
    strides = [backbone.strides[i] for i in indices]
    assert [f.shape[1] for f in feats] == channels
    assert channels == cfg.model.neck.in_channels
    assert [32 // f.shape[-1] for f in feats] == strides
    outs = fpn_strides(strides, cfg.model.neck)
    head = cfg.model.get('rpn_head', cfg.model.get('bbox_head'))
    assert head.anchor_generator.strides == outs
    if 'roi_head' in cfg.model:
        assert cfg.model.roi_head.bbox_roi_extractor.featmap_strides == \
            outs[:4]


def test_optimizer_and_hooks_resolve_from_a_downstream_scope(cfg):
    assert CONSTRUCTORS.get(cfg.optim_wrapper.constructor) is \
        mmprelu.PReLUOptimWrapperConstructor
    hook = cfg.default_hooks.weights_only_checkpoint.type
    assert HOOKS.get(hook) is mmprelu.WeightsOnlyCheckpointHook
