# Generated from configs/relu_net_a_8xb16.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Model A with ReLU instead of PReLU: the baseline of Tables 4-6.
from mmengine.config import read_base

with read_base():
    from .prelu_net_a_8xb16 import *

model.merge(dict(
    backbone=dict(act_cfg=dict(type='ReLU')),
    head=dict(act_cfg=dict(type='ReLU'))))
