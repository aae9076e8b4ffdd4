# DeepLabV3, PReLU-net C backbone (output stride 8) pretrained by mmprelu on
# ImageNet, ADE20K 512x512 crops, 80k iterations of 16 images. Train and
# test with mmseg's tools/train.py and tools/test.py (docs/segmentation.md).
_base_ = [
    './_base_/models/deeplabv3_prelu-net.py',
    './_base_/datasets/ade20k.py',
    './_base_/schedules/schedule_80k.py',
    './_base_/default_runtime.py',
]

# An mmprelu classification checkpoint of the same arch (e.g. the file named
# in work_dirs/prelu_net_c_8xb16/last_checkpoint); its 'backbone.' weights
# (convs and PReLU slopes) go into the segmentor's backbone.
pretrained = 'checkpoints/prelu-net-c_in1k.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))
