# Faster R-CNN + FPN, PReLU-net C backbone pretrained by mmprelu on ImageNet,
# COCO 1x. Train with mmdet's tools/train.py (see README, "Detection").
_base_ = [
    './_base_/models/faster-rcnn_prelu-net_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    './_base_/schedules/schedule_1x.py',
    './_base_/default_runtime.py',
]

# An mmprelu classification checkpoint of the same arch (e.g. the file named
# in work_dirs/prelu_net_c_8xb16/last_checkpoint); its 'backbone.' weights
# (convs and PReLU slopes) go into the detector's backbone.
pretrained = 'checkpoints/prelu-net-c_in1k.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))
