"""A downstream detection project: the detector configs of
docs/downstream.md as they are, with mmprelu installed from its wheel
outside the repository (tests/wheel_install.py) and two photographs per
split of the ``photos`` fixture laid out where the doc's files look for
them (``data/my_coco``). A config of the project shrinks the model and the
images and overrides ours the upstream way (stock CheckpointHook and
LoggerHook, LoadImageFromFile pipelines, EMAHook): with mmdet's stock
tools (new style) it trains two epochs of one iteration past the epoch-1
checkpoint save, resumes from it and tests; our tools/test.py tests the
checkpoint through the text-style file."""
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    'mmdet',
    reason='mmdet is not installed (mmcv-lite '
    'path, see DEVELOPERS.md): downstream detection untested')
pytest.importorskip(
    'mmcv.ops',
    reason='mmcv has no compiled ops (mmcv-lite):'
    ' mmdet needs nms/RoIAlign')

import mmdet  # noqa: E402
import torch  # noqa: E402

from det_helpers import coco_json  # noqa: E402
from wheel_install import PIN_MISSING, ROOT, check_run, doc_files  # noqa

DOC = ROOT / 'docs' / 'downstream.md'
STOCK = Path(mmdet.__file__).parent / '.mim' / 'tools'
#: the doc's classes; landscape photographs (one batch of 2 per split)
CLASSES = ('red', 'green')
SPLITS = dict(
    train=('coffee_orig.JPEG', 'horse_orig.png'),
    val=('clock_flip.JPEG', 'coins_flip.JPEG'))
ARCH = ('dict(channels=(8, 16, 24, 32), depths=(1, 1, 1, 1), '
        'kernel_sizes=(7, 3, 3, 3), strides=(2, 1, 1, 1), '
        'pools=(None, (2, 2), (2, 2), (2, 2)))')
TEST_PIPELINE = """[
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(160, 96), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=(
        'img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]"""
LOADER = 'batch_size=2, num_workers=0, persistent_workers=False'
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
train_dataloader.merge(dict({LOADER}))
train_dataloader.dataset.pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(160, 96), keep_ratio=True),
    dict(type='PackDetInputs')]
val_dataloader.merge(dict({LOADER}))
val_dataloader.dataset.pipeline = {TEST_PIPELINE}
test_dataloader = val_dataloader
train_cfg.max_epochs = 2
default_hooks.merge(dict(checkpoint=dict(type='CheckpointHook', interval=1),
                         logger=dict(type='LoggerHook', interval=1)))
custom_hooks = [dict(type='EMAHook')]
"""
TINY_TEXT = f"""_base_ = ['./my_detector_text.py']

model = dict(
    backbone=dict(arch=dict(_delete_=True, **{ARCH}), init_cfg=None),
    neck=dict(in_channels=[16, 24, 32], out_channels=16,
              norm_cfg=dict(num_groups=4)),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=16),
                  bbox_head=dict(in_channels=16, fc_out_channels=32)))
test_dataloader = dict({LOADER}, dataset=dict(pipeline={TEST_PIPELINE}))
"""
MAP = r'coco/bbox_mAP: [0-9.]+'


@pytest.fixture(scope='module')
def project(tmp_path_factory, photos, installed_wheel):
    folder = tmp_path_factory.mktemp('det_project')
    for name, text in doc_files(DOC).items():
        (folder / name).write_text(text)
    (folder / 'tiny.py').write_text(TINY_NEW)
    (folder / 'tiny_text.py').write_text(TINY_TEXT)
    data = folder / 'data' / 'my_coco'
    (data / 'annotations').mkdir(parents=True)
    for split, names in SPLITS.items():
        (data / split).mkdir()
        for name in names:
            shutil.copy(photos / 'val' / name, data / split / name)
        (data / 'annotations' / f'{split}.json').write_text(
            json.dumps(coco_json(photos, names, CLASSES)))
    if not installed_wheel.has_pkg_resources(folder):
        pytest.fail(PIN_MISSING)
    return folder


def stock(installed, project, tool, work, *args):
    return check_run(
        installed.run([
            sys.executable, STOCK / tool, 'tiny.py', *args, '--work-dir', work
        ], project))


def checkpoint(path: Path) -> dict:
    # written by the run under test: trusted
    return torch.load(path, map_location='cpu', weights_only=False)


@pytest.fixture(scope='module')
def trained(installed_wheel, project, tmp_path_factory):
    """Two epochs with mmdet's stock train.py: (work dir, output)."""
    work = tmp_path_factory.mktemp('det_work')
    return work, stock(installed_wheel, project, 'train.py', work)


def test_stock_train_past_a_checkpoint_save(trained):
    work, out = trained
    assert sorted(p.name for p in work.glob('epoch_*.pth')) == [
        'epoch_1.pth', 'epoch_2.pth'
    ], out[-3000:]
    assert 'Epoch(train) [2][1/1]' in out and 'loss_rpn_cls' in out
    assert re.search(r'Epoch\(val\) \[2\]\[1/1\]\s+' + MAP, out)
    for hook in ('CheckpointHook', 'LoggerHook', 'EMAHook'):
        assert re.search(rf'^\(\w+\s*\) {hook}\s*$', out, re.M), hook
    # the doc's overrides reached the model
    assert 'num_classes=2' in (work / 'tiny.py').read_text()
    first = checkpoint(work / 'epoch_1.pth')
    assert (first['meta']['epoch'], first['meta']['iter']) == (1, 1)
    assert int(first['ema_state_dict']['steps']) == 1


def test_stock_resume(installed_wheel, project, trained, tmp_path):
    work, _ = trained
    out = stock(installed_wheel, project, 'train.py', tmp_path, '--resume',
                work / 'epoch_1.pth')
    assert 'resumed epoch: 1, iter: 1' in out
    assert 'Epoch(train) [1]' not in out and 'Epoch(train) [2][1/1]' in out
    assert sorted(p.name
                  for p in tmp_path.glob('epoch_*.pth')) == ['epoch_2.pth']
    resumed = checkpoint(tmp_path / 'epoch_2.pth')
    assert (resumed['meta']['epoch'], resumed['meta']['iter']) == (2, 2)
    assert int(resumed['ema_state_dict']['steps']) == 2


def test_stock_test(installed_wheel, project, trained, tmp_path):
    work, _ = trained
    out = stock(installed_wheel, project, 'test.py', tmp_path,
                work / 'epoch_2.pth')
    assert re.search(r'Epoch\(test\) \[1/1\]\s+' + MAP, out)


def test_text_style_with_our_test(installed_wheel, project, trained, tmp_path):
    work, _ = trained
    out = check_run(
        installed_wheel.run([
            sys.executable, installed_wheel.tools / 'test.py', 'tiny_text.py',
            work / 'epoch_2.pth', '--work-dir', tmp_path
        ], project))
    assert re.search(r'Epoch\(test\) \[1/1\]\s+' + MAP, out)
    assert 'num_classes=2' in (tmp_path / 'tiny_text.py').read_text()
