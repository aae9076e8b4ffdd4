# Generated from configs/prelu_net_c_8xb16.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# PReLU-net C on ImageNet with the paper's recipe (§3): scale jitter
# [256, 512], 224 crops, flip, PCA colour, SGD lr 0.01 / batch 128 (8 x 16),
# plateau lr decay, about 80 epochs.
from mmengine.config import read_base

with read_base():
    from ._base_.models.prelu_net_c import *
    from ._base_.datasets.imagenet_bs16_scale_jitter import *
    from ._base_.schedules.imagenet_plateau_bs128 import *
    from ._base_.default_runtime import *
