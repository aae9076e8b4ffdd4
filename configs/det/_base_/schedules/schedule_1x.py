# mmdet's "1x": 12 epochs, lr x0.1 after epochs 8 and 11, a 500-iteration
# linear warm-up; 16 images per iteration (8 GPUs x 2).
_base_ = ['mmdet::_base_/schedules/schedule_1x.py']

# Ours: PReLU-nets have no normalisation layers, so we start lower than the
# 0.02 used for BN ResNets and clip gradients (the paper has no detection
# experiments); PReLUOptimWrapperConstructor (mmprelu) keeps weight decay
# off the PReLU slopes (paper §2.1).
optim_wrapper = dict(
    constructor='mmpretrain.PReLUOptimWrapperConstructor',
    optimizer=dict(lr=0.01),
    clip_grad=dict(max_norm=35, norm_type=2))
