# Table 2 study, channel-wise PReLU on the 14-layer model: shorter side 256
# for training and testing (no scale jitter), 75 epochs.
_base_ = [
    './_base_/models/prelu_net_14.py',
    './_base_/datasets/imagenet_bs16_short256.py',
    './_base_/schedules/imagenet_plateau_bs128.py',
    './_base_/default_runtime.py',
]
train_cfg = dict(max_epochs=75)
