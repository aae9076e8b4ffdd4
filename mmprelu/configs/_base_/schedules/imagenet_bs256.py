# Generated from configs/_base_/schedules/imagenet_bs256.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# mmpretrain's standard ImageNet schedule for zoo models: SGD lr 0.1 for a
# total batch of 256, momentum 0.9, weight decay 1e-4, x0.1 at epochs 30, 60
# and 90, 100 epochs (--auto-scale-lr scales lr linearly for other totals).
from mmengine.config import read_base

with read_base():
    from ..._upstream_.mmpretrain._base_.schedules.imagenet_bs256 import *

# ours: no weight decay on PReLU slopes (§2.1), found by module type
optim_wrapper.merge(dict(constructor='PReLUOptimWrapperConstructor'))
