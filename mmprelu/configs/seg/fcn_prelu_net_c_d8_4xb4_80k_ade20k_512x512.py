# Generated from configs/seg/fcn_prelu-net-c-d8_4xb4-80k_ade20k-512x512.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# FCN, PReLU-net C backbone (output stride 8) pretrained by mmprelu on
# ImageNet, ADE20K 512x512 crops, 80k iterations of 16 images. Train and
# test with mmseg's tools/train.py and tools/test.py (docs/segmentation.md).
from mmengine.config import read_base

with read_base():
    from ._base_.models.fcn_prelu_net import *
    from ._base_.datasets.ade20k import *
    from ._base_.schedules.schedule_80k import *
    from ._base_.default_runtime import *

# An mmprelu classification checkpoint of the same arch (e.g. the file named
# in work_dirs/prelu_net_c_8xb16/last_checkpoint); its 'backbone.' weights
# (convs and PReLU slopes) go into the segmentor's backbone.
pretrained = 'checkpoints/prelu-net-c_in1k.pth'
model.merge(dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.'))))
