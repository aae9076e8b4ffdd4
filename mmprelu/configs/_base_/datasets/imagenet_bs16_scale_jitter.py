# Generated from configs/_base_/datasets/imagenet_bs16_scale_jitter.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# ImageNet with the paper's training augmentation (§3): shorter side a random
# integer s in [256, 512] (scale jitter from the start of training), random
# 224x224 crop, horizontal flip for half of the images, AlexNet PCA colour
# altering; validation at shorter side 256 with a centre 224 crop.
# Input is only mean-subtracted (per channel, RGB), not divided by a std: the
# fc init of §2.4 (std 0.01 / 0.001) assumes pixels in about [-128, 128].
dataset_type = 'ImageNet'
data_root = 'data/imagenet'
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],  # RGB
    std=[1., 1., 1.],
    to_rgb=True,  # images are loaded BGR
)

# AlexNet's "random color altering" [16]: ImageNet RGB principal components
# on the 0..255 scale, alpha ~ N(0, 0.1) (AlexNet's value; the paper is
# silent). PCALighting clips to [0, 255] and keeps the BGR order (see
# mmprelu/datasets/transforms/colour.py for why not mmpretrain's Lighting).
pca_lighting = dict(
    type='PCALighting',
    eigval=[55.4625, 4.7940, 1.1475],
    eigvec=[[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
            [-0.5836, -0.6948, 0.4203]],
    alphastd=0.1,
    channel_order='bgr')

# LoadImageSafely (mmprelu): mmcv's LoadImageFromFile (same arguments) that
# names the file on errors, counts the files skipped with ignore_empty=True
# and raises on truncated JPEGs with any OpenCV. imdecode_backend='cv2' (our
# choice, upstream's default): the pipeline runs ~1.8x faster than with
# 'pillow', same files read (docs/choices.md).
load_image = dict(type='LoadImageSafely', imdecode_backend='cv2')

train_pipeline = [
    load_image,
    # long / short side at most 10 (centre crop): bounded memory after the
    # resize (our choice; training only, docs/choices.md)
    dict(type='LimitAspectRatio', max_ratio=10),
    # scale jitter (§3): shorter side s drawn uniformly from the integers
    # in [256, 512] per image, resized by ResizeEdge (as in testing)
    dict(
        type='RandomChoiceResize',
        scales=list(range(256, 512 + 1)),
        resize_type='mmpretrain.ResizeEdge',
        edge='short'),
    dict(type='RandomCrop', crop_size=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    pca_lighting,
    dict(type='PackInputs'),
]

test_pipeline = [
    load_image,
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
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
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
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
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
)
test_evaluator = val_evaluator

# defaults of tools/test.py --protocol (mmprelu/apis/protocols.py): the
# scales of Table 4, 10-view at shorter side 256, 224 crops
test_protocol = dict(
    scales=(256, 384, 480), view_scale=256, crop_size=224, flip=True)

# The paper's protocol for the models trained with this recipe (Tables 4, 6):
# dense sliding windows, every 14x14 window (the map of a 224 crop) of the
# last map, on the full image at shorter sides 256, 384 and 480, each also
# flipped; softmax scores averaged over windows, flips and scales.
# `tools/test.py CFG CKPT --tta` (ours or mmpretrain's). window=14 and
# stride=1 are DenseWindowTTA's defaults, so that a derived config may set
# tta_model=dict(type='AverageClsScoreTTA') (whole images) by a merge.
tta_model = dict(type='DenseWindowTTA')
tta_pipeline = [
    load_image,
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='ResizeEdge', scale=s, edge='short')
                for s in (256, 384, 480)
            ],
            [
                dict(type='RandomFlip', prob=0.),
                dict(type='RandomFlip', prob=1.)
            ],
            [dict(type='PackInputs')],
        ]),
]
