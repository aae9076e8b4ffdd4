# ImageNet with mmpretrain's standard recipe for zoo models: random resized
# 224 crop + flip for training; shorter side 256 + centre 224 crop for
# validation; mean/std normalization (RGB). 32 images per GPU.
# LoadImageSafely (mmprelu): mmcv's LoadImageFromFile that names bad files
# and counts skipped ones; decoder as in imagenet_bs16_scale_jitter.py.
dataset_type = 'ImageNet'
data_root = 'data/imagenet'
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],  # RGB
    std=[58.395, 57.12, 57.375],
    to_rgb=True,  # images are loaded BGR
)

train_pipeline = [
    dict(type='LoadImageSafely', imdecode_backend='cv2'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageSafely', imdecode_backend='cv2'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=5,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
    # mmprelu's ExactResumeSampler: DefaultSampler's order (from seed +
    # epoch, one shard per rank) whose indices carry their epoch, so that
    # ExactResumeHook (default_runtime.py) seeds each sample's augmentation
    # and resumes inside an epoch, bit-exactly; DefaultSampler trains too,
    # but a resume is then not exact (docs/reliability.md)
    sampler=dict(type='ExactResumeSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=32,
    num_workers=5,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
