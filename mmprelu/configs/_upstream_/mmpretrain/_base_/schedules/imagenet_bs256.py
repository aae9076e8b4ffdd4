# Generated from mmpretrain::_base_/schedules/imagenet_bs256.py
# (mmpretrain 1.2.0) by tools/misc/generate_package_configs.py:
# the values a text config inheriting it gets (new-style configs cannot
# import another package's text configs); do not edit.
auto_scale_lr = dict(base_batch_size=256)
optim_wrapper = dict(
    optimizer=dict(
        _scope_='mmpretrain',
        lr=0.1,
        momentum=0.9,
        type='SGD',
        weight_decay=0.0001))
param_scheduler = dict(
    _scope_='mmpretrain',
    by_epoch=True,
    gamma=0.1,
    milestones=[
        30,
        60,
        90,
    ],
    type='MultiStepLR')
test_cfg = dict()
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
