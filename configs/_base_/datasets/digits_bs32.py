# scikit-learn's handwritten digits written as 64x64 images in ImageNet
# layout by tools/dataset_converters/digits2imagenet.py (--size 64):
#   python tools/dataset_converters/digits2imagenet.py data/digits --size 64
# The paper's pipeline (§3) scaled by 1/4: shorter side a random integer in
# [64, 128], random 56x56 crop (a 7x7 last map, as 224 gives 14x14), flip,
# PCA colour; validation at shorter side 64 with a centre 56 crop.
dataset_type = 'CustomDataset'
data_root = 'data/digits'
classes = [str(i) for i in range(10)]
data_preprocessor = dict(
    num_classes=10,
    mean=[123.675, 116.28, 103.53],  # RGB, only mean-subtracted as in §2.4
    std=[1., 1., 1.],
    to_rgb=True,
)

# LoadImageSafely (mmprelu): mmcv's LoadImageFromFile (same arguments) that
# names the file on errors, counts the files skipped with ignore_empty=True
# and raises on truncated JPEGs with any OpenCV. imdecode_backend='cv2' (our
# choice, upstream's default): the pipeline runs ~1.8x faster than with
# 'pillow', same files read (docs/choices.md).
load_image = dict(type='LoadImageSafely', imdecode_backend='cv2')

train_pipeline = [
    load_image,
    # long / short side at most 10 (centre crop; training only)
    dict(type='LimitAspectRatio', max_ratio=10),
    # scale jitter: shorter side s uniform over the integers in [64, 128]
    dict(
        type='RandomChoiceResize',
        scales=list(range(64, 128 + 1)),
        resize_type='mmpretrain.ResizeEdge',
        edge='short'),
    dict(type='RandomCrop', crop_size=56),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # ImageNet PCA colour noise, alpha ~ N(0, 0.1) (AlexNet [16])
    dict(
        type='PCALighting',
        eigval=[55.4625, 4.7940, 1.1475],
        eigvec=[[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                [-0.5836, -0.6948, 0.4203]],
        alphastd=0.1,
        channel_order='bgr'),
    dict(type='PackInputs'),
]

test_pipeline = [
    load_image,
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='CenterCrop', crop_size=56),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/train.txt',
        data_prefix='train',
        metainfo=dict(classes=classes),
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
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/val.txt',
        data_prefix='val',
        metainfo=dict(classes=classes),
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))

# The test loader does not stack images (pseudo_collate): the views of the
# paper's protocols (whole images at each scale, dense windows) keep each
# image's own shape, and a val set mixes sizes and orientations. The data
# preprocessor pads them into one batch; PReLUNetClassifier and
# DenseWindowTTA run each group of equal shape without the padding
# (mmpretrain's ImageClassifier would see it in whole-image views). Kept by
# mmpretrain's stock tools/test.py, which only sets default_collate when
# none is given.
test_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/val.txt',
        data_prefix='val',
        metainfo=dict(classes=classes),
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
)
test_evaluator = val_evaluator

# defaults of tools/test.py --protocol (mmprelu/apis/protocols.py): the
# ImageNet scales (256, 384, 480) and 10-view scale 256, divided by 4
test_protocol = dict(
    scales=(64, 96, 120), view_scale=64, crop_size=56, flip=True)

# `--tta`: the paper's dense multi-scale protocol at the digits scales;
# window 7 = the last map of a 56 crop (tools/test.py --protocol dense
# keeps it). Whole images instead, in a derived config:
# tta_model = dict(_delete_=True, type='AverageClsScoreTTA').
tta_model = dict(type='DenseWindowTTA', window=7)
tta_pipeline = [
    load_image,
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='ResizeEdge', scale=s, edge='short')
                for s in (64, 96, 120)
            ],
            [
                dict(type='RandomFlip', prob=0.),
                dict(type='RandomFlip', prob=1.)
            ],
            [dict(type='PackInputs')],
        ]),
]
