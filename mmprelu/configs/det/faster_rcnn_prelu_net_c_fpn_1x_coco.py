# Generated from configs/det/faster-rcnn_prelu-net-c_fpn_1x_coco.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Faster R-CNN + FPN, PReLU-net C backbone pretrained by mmprelu on ImageNet,
# COCO 1x. Train with mmdet's tools/train.py (see README, "Detection").
from mmengine.config import read_base

with read_base():
    from ._base_.models.faster_rcnn_prelu_net_fpn import *
    from .._upstream_.mmdet._base_.datasets.coco_detection import *
    from ._base_.schedules.schedule_1x import *
    from ._base_.default_runtime import *

# An mmprelu classification checkpoint of the same arch (e.g. the file named
# in work_dirs/prelu_net_c_8xb16/last_checkpoint); its 'backbone.' weights
# (convs and PReLU slopes) go into the detector's backbone.
pretrained = 'checkpoints/prelu-net-c_in1k.pth'
model.merge(dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.'))))
