# Generated from configs/relu_net_14_8xb16.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Table 2 study, ReLU baseline on the 14-layer model.
from mmengine.config import read_base

with read_base():
    from .prelu_net_14_8xb16 import *

model.merge(dict(
    backbone=dict(act_cfg=dict(type='ReLU')),
    head=dict(act_cfg=dict(type='ReLU'))))
