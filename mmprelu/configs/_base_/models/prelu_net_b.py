# Generated from configs/_base_/models/prelu_net_b.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# PReLU-net model B (Table 3): A with one more conv per stage, 22 layers.
from mmengine.config import read_base

with read_base():
    from .prelu_net_a import *

model.merge(dict(backbone=dict(arch='B')))
