# ImageNet as in the Table 2 study (§4.1): shorter side fixed to 256 in both
# training and testing (no scale jitter), still random 224x224 crops,
# horizontal flips and AlexNet PCA colour altering for training.
_base_ = ['./imagenet_bs16_scale_jitter.py']

# loading and aspect-ratio limit as in imagenet_bs16_scale_jitter.py
train_pipeline = [
    dict(type='LoadImageSafely', imdecode_backend='cv2'),
    dict(type='LimitAspectRatio', max_ratio=10),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='RandomCrop', crop_size=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='PCALighting',  # as in imagenet_bs16_scale_jitter.py
        eigval=[55.4625, 4.7940, 1.1475],
        eigvec=[[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                [-0.5836, -0.6948, 0.4203]],
        alphastd=0.1,
        channel_order='bgr'),
    dict(type='PackInputs'),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# The Table 2 protocol: 10-view testing as in AlexNet [16]: shorter side
# 256, the central 256x256 square, its four corner and centre 224 crops,
# each also flipped; `tools/test.py --tta` (= `--protocol ten-view`).
tta_model = dict(type='AverageClsScoreTTA')
tta_pipeline = [
    dict(type='LoadImageSafely', imdecode_backend='cv2'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='ResizeEdge', scale=256, edge='short')],
            [dict(type='PositionalCrop', crop_size=256, position='center')],
            [
                dict(type='PositionalCrop', crop_size=224, position=p)
                for p in ('top_left', 'top_right', 'bottom_left',
                          'bottom_right', 'center')
            ],
            [
                dict(type='RandomFlip', prob=0.),
                dict(type='RandomFlip', prob=1.)
            ],
            [dict(type='PackInputs')],
        ]),
]
