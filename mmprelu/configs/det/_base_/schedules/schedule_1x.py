# Generated from configs/det/_base_/schedules/schedule_1x.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# The usual detection "1x": 12 epochs, lr x0.1 after epochs 8 and 11, a
# 500-iteration linear warm-up; 16 images per iteration (8 GPUs x 2).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=12,
         milestones=[8, 11], gamma=0.1),
]

# PReLU-nets have no normalisation layers, so we start lower than the
# 0.02 used for BN ResNets and clip gradients (our choice; the paper has no
# detection experiments). PReLUOptimWrapperConstructor (mmprelu) keeps
# weight decay off the PReLU slopes (paper §2.1).
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='mmpretrain.PReLUOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))

# `tools/train.py --auto-scale-lr` rescales lr from this batch size
auto_scale_lr = dict(enable=False, base_batch_size=16)
