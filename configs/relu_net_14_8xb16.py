# Table 2 study, ReLU baseline on the 14-layer model.
_base_ = ['./prelu_net_14_8xb16.py']
model = dict(
    backbone=dict(act_cfg=dict(type='ReLU')),
    head=dict(act_cfg=dict(type='ReLU')))
