"""Run the model in the channels-last (NHWC) memory format."""
import gc

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import BaseOptimWrapper
from torch.nn.parallel import DistributedDataParallel

from mmprelu.registry import HOOKS


def is_channels_last(model: torch.nn.Module) -> bool:
    """Whether every 4-D parameter of ``model`` is stored channels-last."""
    if is_model_wrapper(model):
        model = model.module
    params = [p for p in model.parameters() if p.dim() == 4]
    return bool(params) and all(
        p.is_contiguous(memory_format=torch.channels_last) for p in params)


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Convert the model's 4-D weights (convolutions) to
    ``torch.channels_last`` before training, validation and testing.

    mmengine has a setting for mixed precision (``AmpOptimWrapper``) and
    ``torch.compile`` (``compile=True``) but none for the memory format.
    On GPUs with tensor cores, cuDNN runs NHWC convolutions without the
    layout transposes it needs for NCHW, which usually speeds up bf16 /
    fp16 training. The paper is silent (it predates the format); the
    numbers are the same up to floating-point summation order.

    Only the model is converted: a convolution whose weight is
    channels-last returns a channels-last output even for an NCHW input,
    so the first layer converts the activations once and every later
    layer stays NHWC. 1-D PReLU slopes and fc weights are untouched.
    ``Module.to`` keeps the same ``Parameter`` objects, so the optimizer
    built earlier still holds them, and loading a checkpoint copies into
    them, keeping their format.

    Distributed training: mmengine wraps the model in DDP when the Runner
    is built, before any hook exists, and DDP lays out its gradient buckets
    after the parameters' strides then; converting later gives "Grad
    strides do not match bucket view strides" and copied gradients until
    DDP rebuilds its buckets. So in ``before_run`` of a training run (the
    Runner has built its optimizer wrapper) a ``DistributedDataParallel``
    model is converted and wrapped again with ``runner.wrap_model`` and
    the config's ``model_wrapper_cfg`` (the Runner's own wrapping, so the
    same settings; the old wrapper is released). This comes before
    checkpoint loading and before ``compile=True`` compiles the wrapper's
    ``train_step``. Other wrappers and single-process models are converted
    in ``before_train`` (after checkpoint loading) as before.

    Use with ``custom_hooks = [dict(type='ChannelsLastHook')]`` in a config
    or, on the command line, ``--cfg-options
    default_hooks.channels_last.type=ChannelsLastHook`` (a list of dicts
    given to ``--cfg-options custom_hooks=...`` reaches mmengine as
    strings).

    Args:
        train (bool): convert before training. Defaults to True.
        val (bool): convert before each validation. Defaults to True.
        test (bool): convert before testing. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 train: bool = True,
                 val: bool = True,
                 test: bool = True) -> None:
        for key, value in (('train', train), ('val', val), ('test', test)):
            if not isinstance(value, bool):
                raise ValueError(f'ChannelsLastHook: {key} must be a bool, '
                                 f'got {value!r}')
        self.stages = dict(train=train, val=val, test=test)

    def _convert(self, runner, stage: str) -> None:
        if not self.stages[stage] or is_channels_last(runner.model):
            return
        runner.model.to(memory_format=torch.channels_last)
        runner.logger.info(f'ChannelsLastHook: model converted to '
                           f'torch.channels_last before {stage}')

    def before_run(self, runner) -> None:
        model = runner.model
        if not (self.stages['train']
                and isinstance(model, DistributedDataParallel)
                and isinstance(runner.optim_wrapper, BaseOptimWrapper)
                and not is_channels_last(model)):
            return
        module = model.module.to(memory_format=torch.channels_last)
        del model
        runner.model = runner.wrap_model(
            runner.cfg.get('model_wrapper_cfg'), module)
        gc.collect()  # frees the old reducer and its gradient hooks now
        runner.logger.info(
            'ChannelsLastHook: model converted to torch.channels_last and '
            f'wrapped again in {type(runner.model).__name__} (gradient '
            'buckets in the new layout)')

    def before_train(self, runner) -> None:
        self._convert(runner, 'train')

    def before_val(self, runner) -> None:
        self._convert(runner, 'val')

    def before_test(self, runner) -> None:
        self._convert(runner, 'test')
