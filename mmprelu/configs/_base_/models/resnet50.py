# Generated from configs/_base_/models/resnet50.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# ResNet-50 (He et al. 2016) as mmpretrain's ImageClassifier, written for
# mmprelu (no `mmpretrain::` base: setuptools >= 82 breaks it). ReLU
# throughout; configs/zoo/ converts it to PReLU with type='PReLUConverted'.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
