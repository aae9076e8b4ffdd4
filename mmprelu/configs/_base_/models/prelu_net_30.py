# Generated from configs/_base_/models/prelu_net_30.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# The 30-layer model of Fig. 3: the 14-layer model with 16 extra 2x2,
# 256-filter conv layers (27 conv + 3 fc).
from mmengine.config import read_base

with read_base():
    from .prelu_net_14 import *

model.merge(dict(backbone=dict(arch='30')))
