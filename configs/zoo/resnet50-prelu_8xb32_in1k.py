# ResNet-50 with channel-wise PReLU (init 0.25) at every ReLU call site of
# the backbone (three per Bottleneck) and MSRA init (Eq. 14/15, fan_out,
# a = 0.25) of its convs; mmpretrain's ImageNet recipe otherwise.
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    '../_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/imagenet_bs256.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='PReLUConverted',
    model_type='ImageClassifier',  # the type of the base model
    channel_shared=False,
    init=0.25,
    msra=dict(mode='fan_out'),
    scope='backbone')
