"""Run the model in the channels-last (NHWC) memory format."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

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
    built earlier still holds them; converting after the checkpoint is
    loaded (``before_train``) means resumed weights are converted too.

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

    def __init__(self, train: bool = True, val: bool = True,
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

    def before_train(self, runner) -> None:
        self._convert(runner, 'train')

    def before_val(self, runner) -> None:
        self._convert(runner, 'val')

    def before_test(self, runner) -> None:
        self._convert(runner, 'test')
