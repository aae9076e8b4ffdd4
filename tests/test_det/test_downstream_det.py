"""A downstream detection project: the detector configs of
docs/downstream.md as they are, with mmprelu installed from its wheel
outside the repository (tests/wheel_install.py), shrunk by a config of the
project (tiny backbone, narrow FPN and heads, conftest's toy COCO data) and
trained for two iterations with mmdet's stock tools/train.py (new style)
and with ours (text style)."""
import sys
from pathlib import Path

import pytest

pytest.importorskip('mmdet', reason='mmdet is not installed (mmcv-lite '
                    'path, see DEVELOPERS.md): downstream detection untested')
pytest.importorskip('mmcv.ops', reason='mmcv has no compiled ops (mmcv-lite):'
                    ' mmdet needs nms/RoIAlign')

import mmdet  # noqa: E402

from wheel_install import PIN_MISSING, ROOT, check_run, doc_files  # noqa

DOC = ROOT / 'docs' / 'downstream.md'
STOCK_TRAIN = Path(mmdet.__file__).parent / '.mim' / 'tools' / 'train.py'
ARCH = ('dict(channels=(8, 16, 24, 32), depths=(1, 1, 1, 1), '
        'kernel_sizes=(7, 3, 3, 3), strides=(2, 1, 1, 1), '
        'pools=(None, (2, 2), (2, 2), (2, 2)))')
# the same shrinking in both styles: the model, the data, 2 iterations
TINY_NEW = f"""from mmengine.config import read_base

with read_base():
    from .my_detector import *

model.backbone.arch = {ARCH}
model.backbone.pop('init_cfg')  # no checkpoint here: MSRA init
model.neck.merge(dict(in_channels=[16, 24, 32], out_channels=16,
                      norm_cfg=dict(num_groups=4)))
model.rpn_head.merge(dict(in_channels=16, feat_channels=16))
model.roi_head.bbox_roi_extractor.out_channels = 16
model.roi_head.bbox_head.merge(dict(in_channels=16, fc_out_channels=32))
train_dataloader.merge(dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{{root}}/', ann_file='train.json',
                 data_prefix=dict(img='images/'), pipeline=[
                     dict(type='LoadImageFromFile'),
                     dict(type='LoadAnnotations', with_bbox=True),
                     dict(type='Resize', scale=(96, 96), keep_ratio=True),
                     dict(type='PackDetInputs')])))
val_dataloader = val_evaluator = val_cfg = None
test_dataloader = test_evaluator = test_cfg = None
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
param_scheduler = []
default_hooks.merge(dict(logger=dict(interval=1),
                         checkpoint=dict(by_epoch=False, interval=2)))
log_processor.by_epoch = False
"""
TINY_TEXT = f"""_base_ = ['./my_detector_text.py']

model = dict(
    backbone=dict(arch=dict(_delete_=True, **{ARCH}), init_cfg=None),
    neck=dict(in_channels=[16, 24, 32], out_channels=16,
              norm_cfg=dict(num_groups=4)),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=16),
                  bbox_head=dict(in_channels=16, fc_out_channels=32)))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{{root}}/', ann_file='train.json',
                 data_prefix=dict(img='images/'), pipeline=[
                     dict(type='LoadImageFromFile'),
                     dict(type='LoadAnnotations', with_bbox=True),
                     dict(type='Resize', scale=(96, 96), keep_ratio=True),
                     dict(type='PackDetInputs')]))
val_dataloader = val_evaluator = val_cfg = None
test_dataloader = test_evaluator = test_cfg = None
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=2))
log_processor = dict(by_epoch=False)
"""


@pytest.fixture(scope='module')
def project(tmp_path_factory, coco_root):
    folder = tmp_path_factory.mktemp('det_project')
    for name, text in doc_files(DOC).items():
        (folder / name).write_text(text)
    (folder / 'tiny.py').write_text(TINY_NEW.replace('{root}', str(
        coco_root)))
    (folder / 'tiny_text.py').write_text(TINY_TEXT.replace('{root}', str(
        coco_root)))
    return folder


def trained(work: Path, out: str) -> None:
    assert (work / 'iter_2.pth').is_file(), out[-3000:]
    assert 'Iter(train) [2/2]' in out and 'loss_rpn_cls' in out


def test_new_style_with_mmdet_stock_train(installed_wheel, project,
                                          tmp_path):
    if not installed_wheel.has_pkg_resources(project):
        pytest.fail(PIN_MISSING)
    work = tmp_path / 'work'
    out = check_run(installed_wheel.run(
        [sys.executable, STOCK_TRAIN, 'tiny.py', '--work-dir', work],
        project))
    trained(work, out)
    # the doc's overrides reached the model
    assert 'num_classes=2' in (work / 'tiny.py').read_text()


def test_text_style_with_our_train(installed_wheel, project, tmp_path):
    work = tmp_path / 'work'
    out = check_run(installed_wheel.run(
        [sys.executable, installed_wheel.tools / 'train.py', 'tiny_text.py',
         '--work-dir', work], project))
    trained(work, out)
    assert 'num_classes=2' in (work / 'tiny_text.py').read_text()
