# Runtime for mmseg configs with a PReLU-net backbone. These are mmseg
# configs (default_scope 'mmseg'), run with mmseg's tools/train.py and
# tools/test.py; they do not inherit `mmseg::` bases (that needs
# pkg_resources, gone from setuptools >= 82), so configs/seg/_base_ holds
# our own.
default_scope = 'mmseg'
# 'mmprelu' registers PReLUNet, the MSRA initializer and our hooks and
# constructor; 'mmprelu.engine.safe_loading' switches mmengine's checkpoint
# loading to mmprelu's weights-only policy (Pretrained init, --resume and
# tools/test.py on torch >= 2.6)
custom_imports = dict(
    imports=['mmprelu', 'mmprelu.engine.safe_loading'],
    allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=8000,
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # mmprelu's hook (mmpretrain registry, hence the scope prefix): the
    # saved files load with plain torch.load(weights_only=True), so stock
    # tools/test.py reads them on every supported torch
    weights_only_checkpoint=dict(type='mmpretrain.WeightsOnlyCheckpointHook'),
    # warns once if the optimizer would weight-decay PReLU slopes (§2.1);
    # strict=True makes it an error
    slope_decay_check=dict(type='mmpretrain.SlopeDecayCheckHook'),
)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)

log_level = 'INFO'
load_from = None
resume = False

# stock tools/test.py --tta wraps the model in this (with the dataset's
# tta_pipeline)
tta_model = dict(type='SegTTAModel')
