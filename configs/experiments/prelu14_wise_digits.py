# Table 2, PReLU channel-wise: one slope per channel, init 0.25 (the
# default act_cfg of the backbone and the head).
_base_ = ['./_base_/plain_digits.py']
model = dict(
    backbone=dict(act_cfg=dict(type='PReLU')),
    head=dict(act_cfg=dict(type='PReLU')))
