# Generated from configs/seg/_base_/models/deeplabv3_prelu-net.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# DeepLabV3 (mmseg's ASPPHead: atrous convs at rates 12, 24, 36 and image
# pooling) on a PReLU-net trunk, model C of He et al. 2015 (Table 3), at
# output stride 8 (stage 3 dilated by 2; the rates are those for stride 8).
# Stage outputs used (stride / channels): stage 2 8/768 (auxiliary head),
# stage 3 8/896 (decode head). Inputs, trunk and test mode as in
# fcn_prelu-net.py.
model = dict(
    type='EncoderDecoder',
    # mean subtraction only, as in classification training (std 1)
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[1., 1., 1.],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(512, 512)),
    backbone=dict(
        type='mmpretrain.PReLUNet',
        arch='C',
        out_indices=(2, 3),
        output_stride=8,
        act_cfg=dict(type='PReLU'),
        norm_cfg=None),
    # norm_cfg in each head (a top-level `norm_cfg` would not reach them)
    decode_head=dict(
        type='ASPPHead',
        in_channels=896,
        in_index=1,
        channels=512,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=768,
        in_index=0,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
