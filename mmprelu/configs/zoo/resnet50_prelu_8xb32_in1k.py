# Generated from configs/zoo/resnet50-prelu_8xb32_in1k.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# ResNet-50 with channel-wise PReLU (init 0.25) at every ReLU call site of
# the backbone (three per Bottleneck) and MSRA init (Eq. 14/15, fan_out,
# a = 0.25) of its convs; mmpretrain's ImageNet recipe otherwise.
from mmengine.config import read_base

with read_base():
    from .._upstream_.mmpretrain._base_.models.resnet50 import *
    from .._base_.datasets.imagenet_bs32 import *
    from .._base_.schedules.imagenet_bs256 import *
    from .._base_.default_runtime import *

model.merge(dict(
    type='PReLUConverted',
    model_type='ImageClassifier',  # the type of the base model
    channel_shared=False,
    init=0.25,
    msra=dict(mode='fan_out'),
    scope='backbone'))
