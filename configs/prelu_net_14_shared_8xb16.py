# Table 2 study, channel-shared PReLU (13 slopes in all).
_base_ = ['./prelu_net_14_8xb16.py']
model = dict(
    backbone=dict(act_cfg=dict(type='PReLU', channel_shared=True)),
    head=dict(act_cfg=dict(type='PReLU', channel_shared=True)))
