# FCN (mmseg's FCNHead) on a PReLU-net trunk, model C of He et al. 2015
# (Table 3), at output stride 8 like mmseg's "-d8" ResNets: stage 3 keeps
# stage 2's stride and dilates its convs by 2 (PReLUNet output_stride=8).
# Stage outputs used (stride / channels): stage 2 8/768 (auxiliary head),
# stage 3 8/896 (decode head).
model = dict(
    type='EncoderDecoder',
    # the classification pipeline only subtracts the RGB mean (std 1,
    # configs/_base_/datasets/imagenet_bs16_scale_jitter.py): kept, so the
    # pretrained filters see the inputs they were trained on. `size` pads
    # the training crops into one batch (mmseg requires it or
    # size_divisor): = the dataset's crop and test_cfg.crop_size
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[1., 1., 1.],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(512, 512)),
    # backbone init: MSRA (PReLUNet's default init_cfg) unless the top-level
    # config loads a classification checkpoint (Pretrained)
    backbone=dict(
        # a bare 'PReLUNet' is not found from mmseg's scope
        type='mmpretrain.PReLUNet',
        arch='C',
        out_indices=(2, 3),
        output_stride=8,
        act_cfg=dict(type='PReLU'),
        # no norm layers, as in the paper and in the classification
        # checkpoint; the heads' BN takes the trunk's pixel-scale features
        norm_cfg=None),
    # norm_cfg is written into each head: a top-level `norm_cfg` variable
    # of a derived config would not reach them
    decode_head=dict(
        type='FCNHead',
        in_channels=896,
        in_index=1,
        channels=512,
        num_convs=2,
        concat_input=True,
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
    # test on sliding windows of the training crop's size, 341 pixels (2/3
    # of it) apart; the overlaps are averaged
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
