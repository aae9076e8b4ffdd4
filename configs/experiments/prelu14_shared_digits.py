# Table 2, PReLU channel-shared: one slope per layer (13 in all), init 0.25.
_base_ = ['./_base_/plain_digits.py']
model = dict(
    backbone=dict(act_cfg=dict(type='PReLU', channel_shared=True)),
    head=dict(act_cfg=dict(type='PReLU', channel_shared=True)))
