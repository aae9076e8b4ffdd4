# Table 2, ReLU baseline: the 14-layer model (reduced, see
# ./_base_/plain_digits.py) with ReLU after every conv and fc1/fc2.
_base_ = ['./_base_/plain_digits.py']
model = dict(
    backbone=dict(act_cfg=dict(type='ReLU')),
    head=dict(act_cfg=dict(type='ReLU')))
