# The 14-layer model of Table 1 (model E of He & Sun 2014): 11 conv layers,
# SPP {6, 3, 2, 1} (50 bins) and three fc layers. Table 2 reports 10-view
# results, i.e. the full-view SPP on each 224 crop (the tta_model of
# ../datasets/imagenet_bs16_short256.py).
_base_ = ['./prelu_net_a.py']
model = dict(
    backbone=dict(arch='14'),
    neck=dict(levels=(6, 3, 2, 1)),
    head=dict(in_channels=256 * 50))
