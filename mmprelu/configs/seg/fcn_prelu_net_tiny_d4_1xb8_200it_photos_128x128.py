# Generated from configs/seg/fcn_prelu-net-tiny-d4_1xb8-200it_photos-128x128.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# A small PReLU-net FCN for CPU on scikit-image's photographs with
# brightness masks (tools/dataset_converters/skimage2seg.py
# data/photos_seg): 128x128 crops, 200 iterations of 8 images, validation
# (mIoU) at 100 and 200, slide test (128x128 windows). For running the
# whole path through mmseg's stock tools, not for accuracy.
# The trunk is the digits demo's (configs/prelu_net_tiny_1xb64_digits.py:
# 7x7/2 conv1 and two 3x3 stages of 32 and 64 filters after 2x2/2 pools,
# strides 2/4/8), so that demo's classification checkpoint can start it
# (docs/segmentation.md); here at output stride 4, its last stage dilated
# by 2. Without a checkpoint: MSRA init.
from mmengine.config import read_base

with read_base():
    from ._base_.models.fcn_prelu_net import *
    from ._base_.datasets.skimage_photos import *
    from ._base_.schedules.schedule_80k import *
    from ._base_.default_runtime import *

crop_size = (128, 128)  # = the RandomCrop of skimage_photos.py
model.merge(dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=dict(
            _delete_=True,
            channels=(16, 32, 64),
            depths=(1, 2, 2),
            kernel_sizes=(7, 3, 3),
            strides=(2, 1, 1),
            pools=(None, (2, 2), (2, 2))),
        out_indices=(1, 2),
        output_stride=4),
    # stage 2 (64 filters) and, for the auxiliary head, stage 1 (32)
    decode_head=dict(in_channels=64, channels=32, num_classes=3),
    auxiliary_head=dict(in_channels=32, channels=16, num_classes=3),
    test_cfg=dict(crop_size=crop_size, stride=(85, 85))))

train_cfg.merge(dict(max_iters=200, val_interval=100))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=200,
        by_epoch=False),
]
default_hooks.merge(dict(logger=dict(interval=20), checkpoint=dict(interval=200)))
randomness = dict(seed=0)
