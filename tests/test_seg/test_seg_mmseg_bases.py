"""The pitfalls docs/segmentation.md lists for a PReLU-net segmentor on
mmseg's own (ResNet) bases, each as mmseg 1.2 gives it, and the doc's
config that avoids them all building and training a step."""
import textwrap

import pytest
import torch

from seg_helpers import ROOT, require_mmseg
from wheel_install import PIN_MISSING, doc_files

require_mmseg()

from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402

import mmprelu  # noqa: E402

DOC = ROOT / 'docs' / 'segmentation.md'
NAME = 'my_segmentor_on_mmseg_bases.py'
BASES = """_base_ = ['mmseg::_base_/models/fcn_r50-d8.py',
             'mmseg::_base_/schedules/schedule_80k.py']
custom_imports = dict(imports=['mmprelu'], allow_failed_imports=False)
"""
# what a first try writes: the backbone swapped, nothing else
NAIVE = BASES + """norm_cfg = dict(type='BN', requires_grad=True)
model = dict(backbone=dict(
    _delete_=True, type='mmpretrain.PReLUNet', arch='C', out_indices=(2, 3),
    output_stride=8, norm_cfg=None))
"""


@pytest.fixture(autouse=True)
def mmseg_scope():
    """mmseg's scope for each test, the previous one restored after it."""
    pytest.importorskip('pkg_resources', reason=PIN_MISSING)
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def read(tmp_path, text, name='cfg.py'):
    (tmp_path / name).write_text(textwrap.dedent(text))
    return Config.fromfile(tmp_path / name)


def batch(size, n=2):
    """``n`` random images of ``size`` with random ADE20K masks, as a
    dataloader gives them."""
    samples = []
    for _ in range(n):
        sample = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, *size)))
        samples.append(sample)
    return dict(
        inputs=[
            torch.randint(0, 256, (3, *size), dtype=torch.uint8)
            for _ in range(n)
        ],
        data_samples=samples)


def test_bare_type_is_not_in_mmseg_registry(tmp_path):
    cfg = read(tmp_path, NAIVE.replace("'mmpretrain.PReLUNet'", "'PReLUNet'"))
    with pytest.raises(KeyError, match="PReLUNet is not in the mmseg::model"):
        MODELS.build(cfg.model.backbone)


def test_resnet_base_pretrained_reaches_our_backbone(tmp_path):
    cfg = read(tmp_path, NAIVE)
    assert cfg.model.pretrained == 'open-mmlab://resnet50_v1c'
    with pytest.raises(
            TypeError, match="unexpected keyword argument "
            "'pretrained'"):
        MODELS.build(cfg.model)


def test_clip_grad_none_needs_delete(tmp_path):
    with pytest.raises(TypeError, match='clip_grad.*_delete_=True'):
        read(tmp_path, BASES + 'optim_wrapper = dict(clip_grad=dict('
             'max_norm=35))\n')


def test_top_level_norm_cfg_misses_the_heads_and_size_is_unset(tmp_path):
    cfg = read(
        tmp_path,
        NAIVE.replace('model = dict(', 'model = dict(pretrained=None, '))
    assert cfg.norm_cfg.type == 'BN'
    assert cfg.model.decode_head.norm_cfg.type == 'SyncBN'
    assert cfg.model.auxiliary_head.norm_cfg.type == 'SyncBN'
    assert 'size' not in cfg.model.data_preprocessor
    model = MODELS.build(cfg.model)
    with pytest.raises(AssertionError, match='size and size_divisor'):
        model.data_preprocessor(batch((64, 64)), True)


def test_the_doc_config_avoids_them_all(tmp_path):
    cfg = read(tmp_path, doc_files(DOC)[NAME], NAME)
    model_cfg = cfg.model
    assert model_cfg.pretrained is None
    assert set(model_cfg.backbone) == {
        'type', 'arch', 'out_indices', 'output_stride', 'norm_cfg', 'init_cfg'
    }
    for head in (model_cfg.decode_head, model_cfg.auxiliary_head):
        assert head.norm_cfg.type == 'BN'
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=35, norm_type=2)
    assert cfg.default_hooks.weights_only_checkpoint.type == \
        'mmpretrain.WeightsOnlyCheckpointHook'
    assert cfg.model.test_cfg.mode == 'slide'
    assert model_cfg.data_preprocessor.size == (512, 512)
    # narrower and smaller, so that a training step is quick; no checkpoint
    model_cfg.data_preprocessor.size = (96, 96)
    model_cfg.backbone.update(
        arch=dict(
            channels=(8, 8, 16, 16),
            depths=(1, 1, 1, 1),
            kernel_sizes=(7, 3, 3, 3),
            strides=(2, 1, 1, 1),
            pools=(None, (2, 2), (2, 2), (2, 2))),
        init_cfg=None)
    model_cfg.decode_head.update(in_channels=16, channels=8)
    model_cfg.auxiliary_head.update(in_channels=16, channels=8)
    model = MODELS.build(model_cfg)
    assert isinstance(model.backbone, mmprelu.PReLUNet)
    assert model.backbone.strides[-1] == 8
    model.init_weights()
    data = model.data_preprocessor(batch((48, 80)), True)
    assert data['inputs'].shape == (2, 3, 96, 96)  # padded to `size`
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    assert model.backbone.stages[3].conv1.act.weight.grad is not None
