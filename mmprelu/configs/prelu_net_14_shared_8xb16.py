# Generated from configs/prelu_net_14_shared_8xb16.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Table 2 study, channel-shared PReLU (13 slopes in all).
from mmengine.config import read_base

with read_base():
    from .prelu_net_14_8xb16 import *

model.merge(dict(
    backbone=dict(act_cfg=dict(type='PReLU', channel_shared=True)),
    head=dict(act_cfg=dict(type='PReLU', channel_shared=True))))
