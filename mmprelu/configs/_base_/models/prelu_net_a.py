# Generated from configs/_base_/models/prelu_net_a.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# PReLU-net model A (Table 3): 19 weight layers, 1.90e10 multiply-adds.
# Channel-wise PReLU (init 0.25) after every conv and after fc1/fc2.
model = dict(
    # mmpretrain's ImageClassifier, exact on batches of mixed image shapes;
    # the dense test (§5.1) is the dataset base's tta_model (DenseWindowTTA)
    type='PReLUNetClassifier',
    backbone=dict(type='PReLUNet', arch='A', act_cfg=dict(type='PReLU')),
    neck=dict(type='SpatialPyramidPooling', levels=(7, 3, 2, 1)),
    head=dict(
        type='PReLUNetHead',
        num_classes=1000,
        in_channels=512 * 63,  # last stage channels x SPP bins
        mid_channels=(4096, 4096),
        dropout_rate=0.5,
        act_cfg=dict(type='PReLU'),
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
