# Generated from configs/experiments/prelu14_shared_digits.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Table 2, PReLU channel-shared: one slope per layer (13 in all), init 0.25.
from mmengine.config import read_base

with read_base():
    from ._base_.plain_digits import *

model.merge(dict(
    backbone=dict(act_cfg=dict(type='PReLU', channel_shared=True)),
    head=dict(act_cfg=dict(type='PReLU', channel_shared=True))))
