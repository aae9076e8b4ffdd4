# PReLU-net model B (Table 3): A with one more conv per stage, 22 layers.
_base_ = ['./prelu_net_a.py']
model = dict(backbone=dict(arch='B'))
