# VGG-16 with channel-wise PReLU (init 0.25) after its 13 convs and the
# first two fc layers (all inside mmpretrain's VGG backbone), MSRA init
# (Eq. 14/15, fan_out, a = 0.25) of the convs; the fc layers keep VGG's
# N(0, 0.01^2) init as in §2.4. mmpretrain's ImageNet recipe otherwise.
_base_ = [
    'mmpretrain::_base_/models/vgg16.py',
    '../_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/imagenet_bs256.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='PReLUConverted',
    model_type='ImageClassifier',
    channel_shared=False,
    init=0.25,
    msra=dict(mode='fan_out'),
    scope='backbone')

# mmpretrain's VGG-16 recipe uses lr 0.01 (lr 0.1 diverges without BN)
optim_wrapper = dict(optimizer=dict(lr=0.01))
