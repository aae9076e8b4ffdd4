"""Our ``tools/train.py`` on a configs/det detector and photographs of
different sizes: the tool leaves the loaders of an mmdet config as mmdet's
own tool would (mmengine's ``pseudo_collate``; mmdet's data preprocessor
pads), so a batch of mixed-size images trains. mmpretrain's
``default_collate`` stacked them and failed."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    'mmdet',
    reason='mmdet is not installed (mmcv-lite '
    'path, see DEVELOPERS.md): detection untested')
pytest.importorskip(
    'mmcv.ops',
    reason='mmcv has no compiled ops (mmcv-lite):'
    ' mmdet needs nms/RoIAlign')

from mmengine.config import Config  # noqa: E402

from det_helpers import coco_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DETECTOR = ROOT / 'configs/det/retinanet_prelu-net-c_fpn_1x_coco.py'
#: landscape or square (one bucket of the config's AspectRatioBatchSampler),
#: each of another size at the pipeline's scale: 96x144, 96x96, 96x117, 96x128
PHOTOS = ('coffee_orig.JPEG', 'astronaut_rot.png', 'horse_orig.png',
          'clock_flip.JPEG')
TINY = f"""_base_ = [{str(DETECTOR)!r}]
model = dict(
    backbone=dict(arch=dict(_delete_=True, channels=(8, 16, 24, 32),
                            depths=(1, 1, 1, 1), kernel_sizes=(7, 3, 3, 3),
                            strides=(2, 1, 1, 1),
                            pools=(None, (2, 2), (2, 2), (2, 2))),
                  init_cfg=None),
    neck=dict(in_channels=[24, 32], out_channels=16,
              norm_cfg=dict(num_groups=4)),
    bbox_head=dict(in_channels=16, feat_channels=16, stacked_convs=1,
                   num_classes=2))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{{root}}', ann_file='{{ann_file}}',
                 data_prefix=dict(img='val/'),
                 metainfo=dict(classes=('thing', 'stuff')),
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='LoadAnnotations', with_bbox=True),
                           dict(type='Resize', scale=(160, 96),
                                keep_ratio=True),
                           dict(type='PackDetInputs')]))
val_dataloader = val_evaluator = val_cfg = None
test_dataloader = test_evaluator = test_cfg = None
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=2))
log_processor = dict(by_epoch=False)
"""


def test_train_tool_on_mixed_size_photos(photos, tmp_path):
    data = coco_json(photos, PHOTOS)
    sizes = {(i['height'], i['width']) for i in data['images']}
    assert len(sizes) == len(PHOTOS)
    assert all(i['width'] >= i['height'] for i in data['images'])
    ann_file = tmp_path / 'photos.json'
    ann_file.write_text(json.dumps(data))
    config = tmp_path / 'tiny_retinanet.py'
    config.write_text(
        TINY.replace('{root}', str(photos)).replace('{ann_file}',
                                                    str(ann_file)))
    work = tmp_path / 'work'
    proc = subprocess.run([
        sys.executable,
        str(ROOT / 'tools' / 'train.py'),
        str(config), '--work-dir',
        str(work)
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=600,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert 'Iter(train) [2/2]' in proc.stdout + proc.stderr
    assert (work / 'iter_2.pth').is_file()
    # the loaders as the config (and mmdet's tools/train.py) left them
    dumped = Config.fromfile(work / config.name)
    assert 'collate_fn' not in dumped.train_dataloader
    assert 'pin_memory' not in dumped.train_dataloader
