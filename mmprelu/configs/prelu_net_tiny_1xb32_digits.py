# Generated from configs/prelu_net_tiny_1xb32_digits.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# A small PReLU-net trained on CPU in minutes on the embedded digits data
# (tools/dataset_converters/digits2imagenet.py, 64x64 images): the same kind
# of model (7x7/2 conv1, 3x3 stages, SPP {7, 3, 2, 1}, fc-fc-fc, channel-wise
# PReLU, MSRA init) and pipeline (scale jitter, crop, flip, PCA colour) as
# model A, scaled down: 56x56 crops give a 7x7 last map, as 224 gives 14x14.
from mmengine.config import read_base

with read_base():
    from ._base_.models.prelu_net_a import *
    from ._base_.datasets.digits_bs32 import *
    from ._base_.schedules.imagenet_plateau_bs128 import *
    from ._base_.default_runtime import *

model.merge(dict(
    # the 56x56 training crop gives a 7x7 last map: dense windows of 7
    test_cfg=dict(window=7),
    backbone=dict(
        arch=dict(
            _delete_=True,
            channels=(16, 32, 64),
            depths=(1, 2, 2),
            kernel_sizes=(7, 3, 3),
            strides=(2, 1, 1),
            pools=(None, (2, 2), (2, 2)))),
    head=dict(num_classes=10, in_channels=64 * 63, hidden_channels=(256, 256))))

# the paper's lr 0.01 at batch 128, scaled linearly to batch 32
optim_wrapper.merge(dict(optimizer=dict(lr=0.0025)))
param_scheduler.merge(dict(patience=3))
train_cfg.merge(dict(max_epochs=30))
auto_scale_lr.merge(dict(base_batch_size=32))
default_hooks.merge(dict(logger=dict(interval=10)))
randomness.merge(dict(seed=0))
