# Generated from mmpretrain::_base_/models/vgg16.py
# (mmpretrain 1.2.0) by tools/misc/generate_package_configs.py:
# the values a text config inheriting it gets (new-style configs cannot
# import another package's text configs); do not edit.
model = dict(
    _scope_='mmpretrain',
    backbone=dict(depth=16, num_classes=1000, type='VGG'),
    head=dict(
        loss=dict(loss_weight=1.0, type='CrossEntropyLoss'),
        topk=(
            1,
            5,
        ),
        type='ClsHead'),
    neck=None,
    type='ImageClassifier')
