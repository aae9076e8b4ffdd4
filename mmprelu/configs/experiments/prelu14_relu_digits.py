# Generated from configs/experiments/prelu14_relu_digits.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Table 2, ReLU baseline: the 14-layer model (reduced, see
# ./_base_/plain_digits.py) with ReLU after every conv and fc1/fc2.
from mmengine.config import read_base

with read_base():
    from ._base_.plain_digits import *

model.merge(dict(
    backbone=dict(act_cfg=dict(type='ReLU')),
    head=dict(act_cfg=dict(type='ReLU'))))
