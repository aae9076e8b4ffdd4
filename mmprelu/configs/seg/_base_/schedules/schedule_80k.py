# Generated from configs/seg/_base_/schedules/schedule_80k.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# 80,000 iterations of 16 images (4 GPUs x 4), the usual ADE20K schedule of
# mmseg: SGD with the "poly" lr decay (power 0.9), validation and a
# checkpoint every 8,000 iterations (default_runtime.py).
train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=80000,
        by_epoch=False),
]

# mmseg's lr and weight decay for ResNet backbones; our choices: gradient
# clipping at 35 (the PReLU-net trunk has no normalisation layers, so
# nothing bounds its gradients early in fine-tuning) and
# PReLUOptimWrapperConstructor (mmprelu), which keeps weight decay off the
# PReLU slopes (paper §2.1)
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='mmpretrain.PReLUOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
