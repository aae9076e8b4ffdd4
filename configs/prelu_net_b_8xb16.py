# PReLU-net B on ImageNet with the paper's recipe (§3): scale jitter
# [256, 512], 224 crops, flip, PCA colour, SGD lr 0.01 / batch 128 (8 x 16),
# plateau lr decay, about 80 epochs.
_base_ = [
    './_base_/models/prelu_net_b.py',
    './_base_/datasets/imagenet_bs16_scale_jitter.py',
    './_base_/schedules/imagenet_plateau_bs128.py',
    './_base_/default_runtime.py',
]
