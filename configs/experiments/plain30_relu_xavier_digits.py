# Fig. 3, the "Xavier" arm: as plain30_relu_msra_digits.py with the
# forward-case Gaussian of [7] that §2.5 compares against,
# std = sqrt(1 / (k^2 c)) -- Eq. (15) with a = 1, the linear case.
_base_ = ['./plain30_relu_msra_digits.py']
model = dict(
    backbone=dict(
        init_cfg=dict(type='MSRA', mode='fan_in', a=1, layer='Conv2d')))
