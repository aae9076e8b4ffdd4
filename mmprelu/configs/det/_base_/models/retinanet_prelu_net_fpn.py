# Generated from configs/det/_base_/models/retinanet_prelu-net_fpn.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# RetinaNet + FPN on a PReLU-net trunk (model C, Table 3 of He et al. 2015).
# PReLU-net's last stage has stride 16 (ResNet's: 32), so the FPN takes
# stages 2-3 (stride 8/768 and 16/896 channels) and three extra 3x3/2 convs
# on the stage-3 output add strides 32, 64 and 128: P3-P7 as usual.
model = dict(
    type='RetinaNet',
    # mean subtraction only, as in classification training (std 1)
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[1., 1., 1.],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    # backbone init: MSRA (PReLUNet's default init_cfg) unless the top-level
    # config loads a classification checkpoint (Pretrained)
    backbone=dict(
        type='mmpretrain.PReLUNet',
        arch='C',
        out_indices=(2, 3),
        frozen_stages=1,
        act_cfg=dict(type='PReLU'),
        # no norm layers, as in the paper and the checkpoint
        norm_cfg=None),
    neck=dict(
        type='FPN',
        in_channels=[768, 896],
        out_channels=256,
        start_level=0,
        add_extra_convs='on_input',
        num_outs=5,
        # GN in every FPN conv, extra levels included (our choice): the
        # norm-free trunk's features are at pixel scale (std ~100), the
        # heads are initialised for unit scale
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)),
    bbox_head=dict(
        type='RetinaHead',
        num_classes=80,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=4,
            scales_per_octave=3,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=[1., 1., 1., 1.]),
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0,
            ignore_iof_thr=-1),
        # focal loss weighs every anchor: no sampling
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100))
