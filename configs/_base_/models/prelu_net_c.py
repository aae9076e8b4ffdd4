# PReLU-net model C (Table 3): B with 384/768/896 filters, 5.30e10 ops.
_base_ = ['./prelu_net_a.py']
model = dict(backbone=dict(arch='C'), head=dict(in_channels=896 * 63))
