# Generated from configs/det/faster-rcnn_prelu-net-a_fpn_1x_coco.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Faster R-CNN + FPN with the narrower PReLU-net A (Table 3: 256/512/512
# filters, 1.90e10 vs 5.30e10 ops for C at 224), COCO 1x.
from mmengine.config import read_base

with read_base():
    from .faster_rcnn_prelu_net_c_fpn_1x_coco import *

pretrained = 'checkpoints/prelu-net-a_in1k.pth'
model.merge(dict(
    backbone=dict(arch='A', init_cfg=dict(checkpoint=pretrained)),
    # PReLUNet('A').out_channels[1:]
    neck=dict(in_channels=[256, 512, 512])))
