# Generated from configs/det/_base_/default_runtime.py
# by tools/misc/generate_package_configs.py:
# do not edit; edit that file and rerun the tool.
# Runtime for mmdet configs with a PReLU-net backbone. These are mmdet
# configs (default_scope 'mmdet'), run with mmdet's tools/train.py; they do
# not inherit `mmdet::` bases (that needs pkg_resources, gone from
# setuptools >= 82), so configs/det/_base_ holds our own.
default_scope = 'mmdet'
# 'mmprelu' registers PReLUNet, the MSRA initializer and our hooks and
# constructor; 'mmprelu.engine.safe_loading' switches mmengine's checkpoint
# loading to mmprelu's weights-only policy (Pretrained init, --resume)
custom_imports = dict(imports=['mmprelu', 'mmprelu.engine.safe_loading'],
                      allow_failed_imports=False)
# mmengine imports `custom_imports` for text configs only: a new-style
# config imports them itself, while it is read (docs/downstream.md)
__import__('mmprelu')
__import__('mmprelu.engine.safe_loading')

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'),
    # mmprelu's hook (mmpretrain registry, hence the scope prefix): the
    # saved files load with plain torch.load(weights_only=True);
    # enable=False switches it off
    weights_only_checkpoint=dict(type='mmpretrain.WeightsOnlyCheckpointHook'),
    # warns once if the optimizer would weight-decay PReLU slopes (§2.1);
    # strict=True makes it an error, enable=False switches it off
    slope_decay_check=dict(type='mmpretrain.SlopeDecayCheckHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
