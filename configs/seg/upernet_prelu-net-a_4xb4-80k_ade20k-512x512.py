# UPerNet with the narrower PReLU-net A (Table 3: 256/512/512 filters),
# ADE20K 512x512, 80k iterations.
_base_ = ['./upernet_prelu-net-c_4xb4-80k_ade20k-512x512.py']

pretrained = 'checkpoints/prelu-net-a_in1k.pth'
model = dict(
    backbone=dict(arch='A', init_cfg=dict(checkpoint=pretrained)),
    # PReLUNet('A').out_channels[1:]
    decode_head=dict(in_channels=[256, 512, 512]),
    auxiliary_head=dict(in_channels=512))
