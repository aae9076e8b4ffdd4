# Faster R-CNN + FPN with the narrower PReLU-net A (Table 3: 256/512/512
# filters, 1.90e10 vs 5.30e10 ops for C at 224), COCO 1x.
_base_ = ['./faster-rcnn_prelu-net-c_fpn_1x_coco.py']

pretrained = 'checkpoints/prelu-net-a_in1k.pth'
model = dict(
    backbone=dict(arch='A', init_cfg=dict(checkpoint=pretrained)),
    # PReLUNet('A').out_channels[1:]
    neck=dict(in_channels=[256, 512, 512]))
