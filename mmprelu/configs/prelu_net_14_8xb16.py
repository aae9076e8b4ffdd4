# Generated from configs/prelu_net_14_8xb16.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Table 2 study, channel-wise PReLU on the 14-layer model: shorter side 256
# for training and testing (no scale jitter), 75 epochs ("all models trained
# 75 epochs"), lr x0.1 at epochs 45 and 65 in all three Table 2 configs
# (relu_net_14_8xb16.py and prelu_net_14_shared_8xb16.py inherit this
# schedule): §4 switches the lr of the compared models at the same epochs.
from mmengine.config import read_base

with read_base():
    from ._base_.models.prelu_net_14 import *
    from ._base_.datasets.imagenet_bs16_short256 import *
    from ._base_.schedules.imagenet_step_bs128 import *
    from ._base_.default_runtime import *

train_cfg.merge(dict(max_epochs=75))
param_scheduler.merge(dict(milestones=[45, 65]))
