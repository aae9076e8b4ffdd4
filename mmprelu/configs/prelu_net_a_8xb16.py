# Generated from configs/prelu_net_a_8xb16.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# PReLU-net A on ImageNet with the paper's recipe (§3): scale jitter
# [256, 512], 224 crops, flip, PCA colour, SGD lr 0.01 / batch 128 (8 x 16),
# 80 epochs, lr x0.1 at epochs 50 and 70: the same fixed schedule as its
# ReLU twin relu_net_a_8xb16.py (§4 switches the lr of the compared models
# at the same epochs; the plateau rule is in imagenet_plateau_bs128.py).
from mmengine.config import read_base

with read_base():
    from ._base_.models.prelu_net_a import *
    from ._base_.datasets.imagenet_bs16_scale_jitter import *
    from ._base_.schedules.imagenet_step_bs128 import *
    from ._base_.default_runtime import *
