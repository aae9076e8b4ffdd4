# Generated from configs/det/_base_/default_runtime.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Runtime for mmdet configs with a PReLU-net backbone: mmdet's, plus what
# mmprelu adds. These are mmdet configs (default_scope 'mmdet'), run with
# mmdet's tools/train.py or ours.
from mmengine.config import read_base

with read_base():
    from ..._upstream_.mmdet._base_.default_runtime import *

# 'mmprelu' registers PReLUNet, the MSRA initializer and our hooks and
# constructor; 'mmprelu.engine.safe_loading' switches mmengine's checkpoint
# loading to mmprelu's weights-only policy (Pretrained init, --resume)
custom_imports = dict(
    imports=['mmprelu', 'mmprelu.engine.safe_loading'],
    allow_failed_imports=False)
# mmengine imports `custom_imports` for text configs only: a new-style
# config imports them itself, while it is read (docs/downstream.md)
__import__('mmprelu')
__import__('mmprelu.engine.safe_loading')

default_hooks.merge(dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    # mmprelu's hook (mmpretrain registry, hence the scope prefix): the
    # saved files load with plain torch.load(weights_only=True);
    # enable=False switches it off
    weights_only_checkpoint=dict(type='mmpretrain.WeightsOnlyCheckpointHook'),
    # warns once if the optimizer would weight-decay PReLU slopes (§2.1);
    # strict=True makes it an error, enable=False switches it off
    slope_decay_check=dict(type='mmpretrain.SlopeDecayCheckHook'),
))
