# Generated from configs/experiments/plain30_relu_xavier_digits.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Fig. 3, the "Xavier" arm: as plain30_relu_msra_digits.py with the
# forward-case Gaussian of [7] that §2.5 compares against,
# std = sqrt(1 / (k^2 c)) -- Eq. (15) with a = 1, the linear case.
from mmengine.config import read_base

with read_base():
    from .plain30_relu_msra_digits import *

model.merge(dict(
    backbone=dict(
        init_cfg=dict(type='MSRA', mode='fan_in', a=1, layer='Conv2d'))))
