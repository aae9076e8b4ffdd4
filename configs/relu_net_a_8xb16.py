# Model A with ReLU instead of PReLU: the baseline of Tables 4-6.
_base_ = ['./prelu_net_a_8xb16.py']
model = dict(
    backbone=dict(act_cfg=dict(type='ReLU')),
    head=dict(act_cfg=dict(type='ReLU')))
