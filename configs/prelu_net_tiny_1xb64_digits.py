# A small PReLU-net trained on CPU in about 75 s on the embedded digits
# data (tools/dataset_converters/digits2imagenet.py, 64x64 images;
# `bash tools/demo_digits.sh`): the same kind of model (7x7/2 conv1, 3x3
# stages, SPP {7, 3, 2, 1}, fc-fc-fc with dropout 0.5, channel-wise PReLU,
# MSRA init) and pipeline (scale jitter, random crop, PCA colour; dense
# multi-scale test) as model A, scaled down: 56x56 crops give a 7x7 last
# map, as 224 gives 14x14.
#
# What differs from the ImageNet recipe, and why (measured on the 360-image
# val split, so the figures are slightly optimistic; docs/demo_and_inference.md
# has the table):
# * no horizontal flip in training or testing: a mirrored digit is another
#   glyph (a mirrored 2 resembles a 5), unlike an ImageNet object; removing
#   it alone took top-1 from 95.0 to 98.6 %;
# * scale jitter [64, 80] instead of [64, 128] (ImageNet's [256, 512] / 4):
#   a digit fills its image, and a 56 crop of a 128 image keeps under half
#   of it; the dense test scales stay inside the training range, as 256,
#   384, 480 lie inside [256, 512];
# * fc hidden width 512 (not 4096/16 = 256): 256 lost 0.8-1.4 points at
#   this schedule (98.1 / 98.6 % with seeds 0 / 1);
# * batch 64 on one process (the paper: 128 on 8 GPUs): on one CPU thread
#   an image costs ~12 % less in a batch of 64 than in one of 32 (larger
#   matrix products; benchmarks/batch_size.py), 128 only 3 % more and
#   halves the SGD steps again;
# * lr 0.007: the paper's 0.01 per 128 would be 0.005 here, but the demo
#   has ~550 iterations instead of ~750,000; 0.01 diverged (NaN loss in
#   epoch 2), 0.005 reached 98.9 % in 30 epochs;
# * 24 epochs, lr x0.1 at epochs 16 and 21 (a fixed schedule needs no
#   validation every epoch); validation every 8 epochs, a checkpoint at
#   the end only (each one also costs ~1 s of mmengine config formatting).
#   With seeds 0, 1, 2: centre 99.4 / 98.9 / 98.9 %, dense 99.7 / 100 /
#   99.2 %; 30 epochs at batch 32 took 105 s instead of ~75 s.
_base_ = [
    './_base_/models/prelu_net_a.py',
    './_base_/datasets/digits_bs32.py',
    './_base_/schedules/imagenet_step_bs128.py',
    './_base_/default_runtime.py',
]
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            channels=(16, 32, 64),
            depths=(1, 2, 2),
            kernel_sizes=(7, 3, 3),
            strides=(2, 1, 1),
            pools=(None, (2, 2), (2, 2)))),
    head=dict(num_classes=10, in_channels=64 * 63, mid_channels=(512, 512)))

train_pipeline = [
    dict(type='LoadImageSafely', imdecode_backend='cv2'),
    dict(type='LimitAspectRatio', max_ratio=10),
    # scale jitter: shorter side s uniform over the integers in [64, 80]
    dict(
        type='RandomChoiceResize',
        scales=list(range(64, 80 + 1)),
        resize_type='mmpretrain.ResizeEdge',
        edge='short'),
    dict(type='RandomCrop', crop_size=56),
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
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(lr=0.007))
param_scheduler = dict(milestones=[16, 21])
train_cfg = dict(max_epochs=24, val_interval=8)
auto_scale_lr = dict(base_batch_size=64)
# save_last (mmengine's default) writes the last epoch whatever max_epochs
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=24))
randomness = dict(seed=0)

# tools/test.py --protocol: dense windows at three scales spanning the
# training range, no flips (see above); centre crop of the shorter side 64
test_protocol = dict(
    scales=(64, 72, 80), view_scale=64, crop_size=56, flip=False)
tta_pipeline = [
    dict(type='LoadImageSafely', imdecode_backend='cv2'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='ResizeEdge', scale=s, edge='short')
                for s in (64, 72, 80)
            ],
            [dict(type='PackInputs')],
        ]),
]
