# The 30-layer model of Fig. 3: the 14-layer model with 16 extra 2x2,
# 256-filter conv layers (27 conv + 3 fc).
_base_ = ['./prelu_net_14.py']
model = dict(backbone=dict(arch='30'))
