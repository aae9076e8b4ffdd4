# Generated from configs/seg/deeplabv3_prelu-net-a-d8_4xb4-80k_ade20k-512x512.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# DeepLabV3 with the narrower PReLU-net A (Table 3: 256/512/512 filters),
# ADE20K 512x512, 80k iterations.
from mmengine.config import read_base

with read_base():
    from .deeplabv3_prelu_net_c_d8_4xb4_80k_ade20k_512x512 import *

pretrained = 'checkpoints/prelu-net-a_in1k.pth'
model.merge(dict(
    backbone=dict(arch='A', init_cfg=dict(checkpoint=pretrained)),
    # PReLUNet('A').out_channels: stage 3, stage 2
    decode_head=dict(in_channels=512),
    auxiliary_head=dict(in_channels=512)))
