# Generated from configs/experiments/prelu14_wise_digits.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Table 2, PReLU channel-wise: one slope per channel, init 0.25 (the
# default act_cfg of the backbone and the head).
from mmengine.config import read_base

with read_base():
    from ._base_.plain_digits import *

model.merge(dict(
    backbone=dict(act_cfg=dict(type='PReLU')),
    head=dict(act_cfg=dict(type='PReLU'))))
