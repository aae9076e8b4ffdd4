# Fig. 3: the 30-layer model (27 conv + 3 fc; 16 extra 2x2 convs after the
# 6 of Table 1's last stage), ReLU, MSRA init (Eq. 14, fan_out: the
# backbone default), at the reduced digits scale of ./_base_/plain_digits.py.
# ImageNet: backbone arch='30' and the ImageNet dataset base.
_base_ = ['./_base_/plain_digits.py']
model = dict(
    backbone=dict(act_cfg=dict(type='ReLU'), arch=dict(depths=(1, 4, 22))),
    head=dict(act_cfg=dict(type='ReLU')))
# ~2-3 minutes on one CPU thread
train_cfg = dict(max_epochs=30)
