# Generated from configs/experiments/plain30_relu_msra_digits.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Fig. 3: the 30-layer model (27 conv + 3 fc; 16 extra 2x2 convs after the
# 6 of Table 1's last stage), ReLU, MSRA init (Eq. 14, fan_out: the
# backbone default), at the reduced digits scale of ./_base_/plain_digits.py.
# ImageNet: backbone arch='30' and the ImageNet dataset base.
from mmengine.config import read_base

with read_base():
    from ._base_.plain_digits import *

model.merge(dict(
    backbone=dict(act_cfg=dict(type='ReLU'), arch=dict(depths=(1, 4, 22))),
    head=dict(act_cfg=dict(type='ReLU'))))
# ~2-3 minutes on one CPU thread
train_cfg.merge(dict(max_epochs=30))
