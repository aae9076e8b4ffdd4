"""Log the learned PReLU slopes during training (Table 1 of He et al. 2015
shows them after training: per layer, the channel-shared value or the mean
over channels of the channel-wise slopes)."""
from typing import Dict, Optional

import torch.nn as nn
from mmengine.model import is_model_wrapper

from mmprelu.registry import HOOKS
from .switchable import SwitchableHook


def prelu_slopes(model: nn.Module) -> Dict[str, float]:
    """Mean slope of every PReLU module of ``model``, keyed by module name
    (e.g. ``backbone.stages.0.conv1.act``, ``head.layers.0.act``), in model
    order.

    A channel-shared PReLU has one slope (its value is returned); a
    channel-wise one returns the mean over channels, as in Table 1.
    """
    if is_model_wrapper(model):
        model = model.module
    return {
        name: float(module.weight.detach().float().mean())
        for name, module in model.named_modules()
        if isinstance(module, nn.PReLU)
    }


@HOOKS.register_module()
class PReLUSlopeHook(SwitchableHook):
    """Put the mean PReLU slope of every layer into the message hub every
    ``interval`` training iterations, as scalars ``train/prelu/<layer>``.

    mmengine's ``LoggerHook`` then shows them in the text log (as
    ``prelu/<layer>``, averaged over its logging window like the loss) and
    sends them to every visualizer backend (``LocalVisBackend`` writes them
    to ``vis_data/scalars.json``; TensorBoard / W&B backends plot them).
    The logger averages the last ``LoggerHook.interval`` *entries* of a
    scalar; with the default ``interval=1`` (cheap: one mean per layer) that
    is the mean over the logging window, like the loss. A larger
    ``interval`` makes the log average over older values.

    A model without PReLU modules (the ReLU baselines) logs nothing; it
    warns once instead of failing, so one config can serve both.

    Args:
        interval (int): Log every ``interval`` iterations. Defaults to 1.
        prefix (str): Scalar name prefix. Defaults to ``'prelu'``.
        enable (bool): ``False`` switches the logging off. Defaults to True.
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL) reads the hub

    def __init__(self,
                 interval: int = 1,
                 prefix: str = 'prelu',
                 enable: bool = True) -> None:
        super().__init__(enable)
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'PReLUSlopeHook: interval must be a positive '
                             f'int, got {interval!r}')
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f'PReLUSlopeHook: prefix must be a non-empty '
                             f'str, got {prefix!r}')
        self.interval = interval
        self.prefix = prefix
        self._warned = False

    def _log(self, runner) -> Optional[Dict[str, float]]:
        slopes = prelu_slopes(runner.model)
        if not slopes:
            if not self._warned:
                runner.logger.warning(
                    'PReLUSlopeHook: the model has no PReLU layers; '
                    'nothing to log')
                self._warned = True
            return None
        for name, value in slopes.items():
            runner.message_hub.update_scalar(f'train/{self.prefix}/{name}',
                                             value)
        return slopes

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self._log(runner)
