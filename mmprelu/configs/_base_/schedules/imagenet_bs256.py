# Generated from configs/_base_/schedules/imagenet_bs256.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# mmpretrain's standard ImageNet schedule for zoo models: SGD lr 0.1 for a
# total batch of 256, momentum 0.9, weight decay 1e-4 (none on PReLU slopes,
# §2.1, found by module type), x0.1 at epochs 30, 60 and 90, 100 epochs.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    constructor='PReLUOptimWrapperConstructor')

param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)

train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# lr 0.1 is for a total batch of 256 (8 GPUs x 32); --auto-scale-lr scales
# it linearly for other totals.
auto_scale_lr = dict(base_batch_size=256)
