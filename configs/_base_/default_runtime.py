# Runtime shared by every mmprelu config.
# mmprelu registers into mmpretrain's registries, so the scope is mmpretrain
# and every config imports mmprelu (which only registers). The second import
# switches mmengine's checkpoint loading to mmprelu's weights-only policy
# (resume, tools/test.py and Pretrained work on torch >= 2.6; files needing
# arbitrary unpickling are refused): mmprelu/engine/checkpoint.py.
default_scope = 'mmpretrain'
custom_imports = dict(
    imports=['mmprelu', 'mmprelu.engine.safe_loading'],
    allow_failed_imports=False)

# Hooks are in `default_hooks` (a dict, merged key by key through `_base_`
# inheritance) rather than `custom_hooks` (a list, replaced whole), so that a
# derived config adding its own custom hooks keeps ours. An entry that
# stands in for an upstream hook takes exactly that hook's arguments (a
# derived config may switch it back to the upstream type); each extra of
# ours is its own entry, switched off with one line (docs/reliability.md):
# `enable=False` for our own hook types.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # mmengine's CheckpointHook with atomic writes (a kill never leaves a
    # truncated checkpoint or last_checkpoint); type='CheckpointHook' is
    # the stock hook
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3),
    # iteration checkpoints beside the epoch ones (CheckpointHook's
    # arguments, by_epoch=False; interval=-1: never), e.g. interval=2000
    # for an ImageNet epoch on 8 GPUs (~10,000 iterations): a crash then
    # loses at most 2000 iterations
    iter_checkpoint=dict(
        type='IterCheckpointHook', interval=-1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    # checkpoints loadable with torch.load(weights_only=True)
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # a plateau lr schedule whose monitor is never produced fails loudly
    plateau_check=dict(type='CheckPlateauMonitorHook'),
    # a NaN/Inf loss stops training before the bad weights are saved
    divergence=dict(type='DivergenceHook'),
    # with the train_dataloader's ExactResumeSampler: reseeds every
    # iteration from (seed, iteration, rank), seeds each sample's
    # augmentation from (seed, epoch, index) (wraps the train dataset's
    # pipeline) and continues a resumed epoch after its last trained batch,
    # so --resume from an iteration checkpoint continues bit for bit
    exact_resume=dict(type='ExactResumeHook'),
    # count of images skipped by LoadImageSafely(ignore_empty=True), per epoch
    bad_images=dict(type='BadImageReportHook'),
    # one warning if the optimizer would weight-decay PReLU slopes (§2.1),
    # e.g. a config whose optim_wrapper drops PReLUOptimWrapperConstructor;
    # strict=True makes it an error
    slope_decay_check=dict(type='SlopeDecayCheckHook', strict=False),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo on machines without CUDA. timeout:
    # seconds a collective waits for the slowest rank before the job fails
    # (torch's default is 30 min); 600 covers rank 0 writing a model C
    # checkpoint to slow storage and torch.compile's first step
    dist_cfg=dict(backend='nccl', timeout=600),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
# no `load_from = None`: mmpretrain's get_model / inferencers take a config's
# load_from as its weights, so with None they predict with random weights
# without a word; unset, they warn that the model has no checkpoint
resume = False
randomness = dict(seed=None, deterministic=False)
