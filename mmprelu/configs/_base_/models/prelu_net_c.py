# Generated from configs/_base_/models/prelu_net_c.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# PReLU-net model C (Table 3): B with 384/768/896 filters, 5.30e10 ops.
from mmengine.config import read_base

with read_base():
    from .prelu_net_a import *

model.merge(dict(backbone=dict(arch='C'), head=dict(in_channels=896 * 63)))
