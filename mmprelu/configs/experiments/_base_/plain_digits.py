# Generated from configs/experiments/_base_/plain_digits.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Shared setting of the small-scale experiments of the paper (tools/analysis/
# README section "Reproducing the paper"): the 14-layer model of Table 1 with
# every width divided by 4 (conv1 16, then 2x2 convs with 32 and 64
# filters, fc 256-256-10) on the digits data (64x64 images, 56 crops). Both
# pools are 2x2/2 here (Table 1: 3x3/3, then 2x2/2) so that the 56 crop
# leaves a 7x7 last map for SPP {6, 3, 2, 1}, as 224 leaves 18x18 in the
# paper. At ImageNet scale: swap the dataset base for
# ../../_base_/datasets/imagenet_bs16_short256.py and set
# backbone.arch='14' (or '30'), head in_channels=256 * 50, hidden 4096.
from mmengine.config import read_base

with read_base():
    from ..._base_.models.prelu_net_14 import *
    from ..._base_.datasets.digits_bs32 import *
    from ..._base_.schedules.imagenet_plateau_bs128 import *
    from ..._base_.default_runtime import *

model.merge(dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            channels=(16, 32, 64),
            depths=(1, 4, 6),
            kernel_sizes=(7, 2, 2),
            strides=(2, 1, 1),
            pools=(None, (2, 2), (2, 2)))),
    head=dict(
        num_classes=10,
        in_channels=64 * 50,
        mid_channels=(256, 256),
        # §2.4's fixed fc stds (0.01, 0.01, 0.001) are for fc1 on 256 * 50
        # inputs and 4096-wide fcs; we keep each layer's gain
        # std * sqrt(fan_in) at the reduced widths: x2 for fc1, x4 after
        # (drawn in this order: all at 0.04, then fc1 and the last fc again)
        init_cfg=[
            dict(type='Normal', layer='Linear', std=0.04, bias=0.),
            dict(
                type='LayerwiseNormal',
                layer='Linear',
                std=(0.02, None, 0.004),
                bias=0.),
        ])))

# Table 2's protocol: shorter side fixed (256 -> 64 here) in training, no
# scale jitter; random 56 crop, flip, PCA colour as in the base pipeline
# (whose loading steps this copies: keep the two in step).
train_pipeline = [
    dict(type='LoadImageSafely', imdecode_backend='cv2'),
    dict(type='LimitAspectRatio', max_ratio=10),
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='RandomCrop', crop_size=56),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='PCALighting',
        eigval=[55.4625, 4.7940, 1.1475],
        eigvec=[[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                [-0.5836, -0.6948, 0.4203]],
        alphastd=0.1,
        channel_order='bgr'),
    dict(type='PackInputs'),
]
train_dataloader.merge(dict(dataset=dict(pipeline=train_pipeline)))

# The paper's lr 0.01 at batch 128, scaled linearly to batch 32, kept
# constant for the fixed budget (the paper lowers it on plateaus over 75+
# ImageNet epochs; 4x larger made the 30-layer MSRA run oscillate). The huge
# max_norm never clips: it only makes mmengine log `grad_norm`.
optim_wrapper.merge(dict(optimizer=dict(lr=0.0025), clip_grad=dict(max_norm=1e8)))
param_scheduler.merge(dict(
    _delete_=True, type='ConstantLR', factor=1.0, by_epoch=True))
train_cfg.merge(dict(max_epochs=15))  # ~30 s a run on one CPU thread
auto_scale_lr.merge(dict(base_batch_size=32))
default_hooks.merge(dict(
    logger=dict(interval=10),
    # `prelu/<layer>` mean slopes in the log and the visualizer backends
    prelu_slopes=dict(type='PReLUSlopeHook', interval=1)))
randomness.merge(dict(seed=0))
