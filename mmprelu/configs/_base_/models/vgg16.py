# Generated from configs/_base_/models/vgg16.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# VGG-16 (Simonyan & Zisserman 2015, configuration D) as mmpretrain's
# ImageClassifier: the backbone holds the three fc layers (4096-4096-1000,
# ReLU + dropout after the first two), so it needs 224x224 inputs; ClsHead
# only computes the loss.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='VGG', depth=16, num_classes=1000),
    neck=None,
    head=dict(
        type='ClsHead',
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
