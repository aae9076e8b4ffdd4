"""Stop training when the loss diverges.

The paper (He et al. 2015, §2.2, Fig. 3) notes that too deep a net with a
poor init stalls or diverges; a NaN/Inf loss can also come from too large an
lr. Training on with NaN weights wastes the rest of the run and, worse, the
next checkpoint overwrites good weights with NaN ones.

What this adds to mmdet's ``CheckInvalidLossHook`` (an ``assert`` on the
total loss every 50 iterations): it needs no mmdet (not a dependency of the
classification stack), runs before the checkpoint hooks, and names the
iteration, the values and the last good checkpoint.
"""
import math
from typing import Optional, Sequence

import torch

from mmprelu.registry import HOOKS
from .switchable import SwitchableHook

__all__ = ['DivergenceHook', 'TrainingDiverged']


class TrainingDiverged(RuntimeError):
    """Raised by :class:`DivergenceHook`."""


def _bad_values(outputs, keys: Sequence[str]):
    """``[(key, value)]`` of the watched losses that are not finite."""
    bad = []
    for key in keys:
        value = outputs.get(key, None) if isinstance(outputs, dict) else None
        if value is None:
            continue
        if isinstance(value, torch.Tensor):
            finite = bool(torch.isfinite(value.detach()).all())
            shown = value.detach().float().mean().item() if \
                value.numel() else float('nan')
        else:
            shown = float(value)
            finite = math.isfinite(shown)
        if not finite:
            bad.append((key, shown))
    return bad


@HOOKS.register_module()
class DivergenceHook(SwitchableHook):
    """Stop training at the first iteration whose loss is NaN or Inf.

    Checks the watched entries of the train step's outputs (the parsed
    losses) after every ``interval``-th iteration and raises
    :class:`TrainingDiverged` naming the iteration, the epoch, the values
    and the last checkpoint. It runs before ``CheckpointHook`` (priority
    ``ABOVE_NORMAL`` vs ``VERY_LOW``), so the diverged weights are never
    saved: the last good checkpoint stays as it was and ``--resume`` can
    restart from it (e.g. with a lower lr).

    Args:
        keys (Sequence[str]): output entries to watch. Defaults to
            ``('loss', )``, the total loss.
        interval (int): check every ``interval`` iterations (every check
            syncs with the device). Defaults to 1.
        check_params (bool): also check that every parameter is finite after
            the step (a slower, stricter check). Defaults to False.
        enable (bool): ``False`` switches the check off. Defaults to True.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 keys: Sequence[str] = ('loss', ),
                 interval: int = 1,
                 check_params: bool = False,
                 enable: bool = True) -> None:
        super().__init__(enable)
        if isinstance(keys, str):
            keys = (keys, )
        if not keys or not all(isinstance(k, str) for k in keys):
            raise ValueError(f'DivergenceHook: keys must be a non-empty list '
                             f'of loss names, got {keys!r}')
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'DivergenceHook: interval must be a positive '
                             f'int, got {interval!r}')
        self.keys = tuple(keys)
        self.interval = interval
        self.check_params = bool(check_params)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None):
        if not self.every_n_train_iters(runner, self.interval):
            return
        bad = [f'{k}={v}' for k, v in _bad_values(outputs or {}, self.keys)]
        if self.check_params:
            for name, param in runner.model.named_parameters():
                if not bool(torch.isfinite(param.detach()).all()):
                    bad.append(f'parameter {name} not finite')
                    break
        if not bad:
            return
        last = runner.message_hub.get_info('last_ckpt', None)
        kept = (f'the last checkpoint, {last}, is kept unchanged'
                if last else 'no checkpoint had been saved yet')
        message = (f'training diverged at iteration {runner.iter + 1} '
                   f'(epoch {runner.epoch + 1}, batch {batch_idx + 1}): '
                   f'{", ".join(bad)}. Training stopped; {kept}. Lower the '
                   f'lr or check the data, then --resume.')
        runner.logger.error(message)
        raise TrainingDiverged(message)
