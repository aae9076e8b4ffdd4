# Generated from mmdet::_base_/schedules/schedule_1x.py
# (mmdet 3.3.0) by tools/misc/generate_package_configs.py:
# the values a text config inheriting it gets (new-style configs cannot
# import another package's text configs); do not edit.
auto_scale_lr = dict(base_batch_size=16, enable=False)
optim_wrapper = dict(
    _scope_='mmdet',
    optimizer=dict(lr=0.02, momentum=0.9, type='SGD', weight_decay=0.0001),
    type='OptimWrapper')
param_scheduler = [
    dict(
        _scope_='mmdet',
        begin=0,
        by_epoch=False,
        end=500,
        start_factor=0.001,
        type='LinearLR'),
    dict(
        _scope_='mmdet',
        begin=0,
        by_epoch=True,
        end=12,
        gamma=0.1,
        milestones=[
            8,
            11,
        ],
        type='MultiStepLR'),
]
test_cfg = dict(_scope_='mmdet', type='TestLoop')
train_cfg = dict(
    _scope_='mmdet', max_epochs=12, type='EpochBasedTrainLoop', val_interval=1)
val_cfg = dict(_scope_='mmdet', type='ValLoop')
