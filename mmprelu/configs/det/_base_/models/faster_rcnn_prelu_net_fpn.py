# Generated from configs/det/_base_/models/faster-rcnn_prelu-net_fpn.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Faster R-CNN + FPN on a PReLU-net trunk (model C, Table 3 of He et al.
# 2015). Stage outputs (stride / channels): conv1 2/96, stage1 4/384,
# stage2 8/768, stage3 16/896 (PReLUNet.strides / .out_channels). The FPN
# takes stages 1-3 and max-pools two more levels: P2-P6 at strides 4-64.
model = dict(
    type='FasterRCNN',
    # the classification pipeline only subtracts the RGB mean (no std, see
    # configs/_base_/datasets/imagenet_bs16_scale_jitter.py): keep it so
    # the pretrained filters see the inputs they were trained on
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[1., 1., 1.],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    # backbone init: MSRA (PReLUNet's default init_cfg) unless the top-level
    # config loads a classification checkpoint (Pretrained)
    backbone=dict(
        # 'mmprelu.PReLUNet' resolves too
        type='mmpretrain.PReLUNet',
        arch='C',
        out_indices=(1, 2, 3),
        # conv1 and stage 1 stay as pretrained (like frozen_stages=1 of the
        # ResNet detectors); they are in eval mode and get no gradients
        frozen_stages=1,
        act_cfg=dict(type='PReLU'),
        # no norm layers, as in the paper and in the classification
        # checkpoint: a BN would be untrained and drops the conv biases
        norm_cfg=None),
    neck=dict(
        type='FPN',
        in_channels=[384, 768, 896],
        out_channels=256,
        num_outs=5,
        # GN in the FPN convs (our choice): the trunk has no norm layers and
        # mean-only inputs, so its features are at pixel scale (std ~100,
        # MSRA init keeps the magnitude); the heads are initialised for unit
        # scale. Without it the first losses are ~10-500x too large.
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)),
    rpn_head=dict(
        type='RPNHead',
        in_channels=256,
        feat_channels=256,
        anchor_generator=dict(
            type='AnchorGenerator',
            scales=[8],
            ratios=[0.5, 1.0, 2.0],
            strides=[4, 8, 16, 32, 64]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=[1., 1., 1., 1.]),
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.7,
                neg_iou_thr=0.3,
                min_pos_iou=0.3,
                match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=256,
                pos_fraction=0.5,
                neg_pos_ub=-1,
                add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(
            nms_pre=2000,
            max_per_img=1000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=512,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rpn=dict(
            nms_pre=1000,
            max_per_img=1000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=100)))
