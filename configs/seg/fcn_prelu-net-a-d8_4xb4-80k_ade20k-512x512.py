# FCN with the narrower PReLU-net A (Table 3: 256/512/512 filters, 1.90e10
# vs 5.30e10 ops for C at 224), ADE20K 512x512, 80k iterations.
_base_ = ['./fcn_prelu-net-c-d8_4xb4-80k_ade20k-512x512.py']

pretrained = 'checkpoints/prelu-net-a_in1k.pth'
model = dict(
    backbone=dict(arch='A', init_cfg=dict(checkpoint=pretrained)),
    # PReLUNet('A').out_channels: stage 3, stage 2
    decode_head=dict(in_channels=512),
    auxiliary_head=dict(in_channels=512))
