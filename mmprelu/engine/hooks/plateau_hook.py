"""Make a plateau LR schedule fail loudly instead of silently never firing."""
from typing import Dict, Optional

from mmprelu.registry import HOOKS
from .switchable import SwitchableHook


def _plateau_schedulers(runner):
    schedulers = runner.param_schedulers or []
    if isinstance(schedulers, dict):
        schedulers = [s for group in schedulers.values() for s in group]
    return [s for s in schedulers if getattr(s, 'need_val_args', False)]


@HOOKS.register_module()
class CheckPlateauMonitorHook(SwitchableHook):
    """Check that every plateau scheduler (mmengine's ``ReduceOnPlateauLR``
    and friends, which reduce the lr "when the error plateaus", §3) can
    actually fire.

    mmengine's plateau scheduler ignores a validation result that lacks its
    ``monitor`` key, and never steps when there is no validation at all, so
    a typo such as ``monitor='accuracy/top_1'`` trains the whole schedule at
    the first learning rate without a word. This hook raises instead:

    * before training, if a plateau scheduler exists but the run has no
      validation loop (``val_cfg``/``val_dataloader``/``val_evaluator``) or
      the validation interval is longer than the training;
    * after each validation, if ``monitor`` is not among the metrics the
      evaluator produced (the message lists them).

    Its priority is above mmengine's ``ParamSchedulerHook`` so it runs first.

    Args:
        enable (bool): ``False`` switches the check off. Defaults to True.
    """

    priority = 'ABOVE_NORMAL'

    def before_train(self, runner) -> None:
        schedulers = _plateau_schedulers(runner)
        if not schedulers:
            return
        monitors = sorted({s.monitor for s in schedulers})
        loop = runner.train_loop
        # Runner.train() has built the validation loop before this hook
        # runs, so the public property only returns it (None: no validation)
        if runner.val_loop is None:
            raise RuntimeError(
                f'A plateau LR scheduler monitors {monitors}, but this run '
                f'has no validation (val_dataloader / val_cfg / '
                f'val_evaluator missing, or --no-validate): the learning '
                f'rate would never change. Configure validation or use a '
                f'fixed schedule.')
        interval = getattr(loop, 'val_interval', 1)
        max_epochs = getattr(loop, 'max_epochs', None)
        begin = getattr(loop, 'val_begin', 1)
        if max_epochs is not None and max(interval, begin) > max_epochs:
            raise RuntimeError(
                f'A plateau LR scheduler monitors {monitors}, but validation '
                f'starts at epoch {max(interval, begin)} of {max_epochs}: '
                f'the learning rate would never change. Lower '
                f'train_cfg.val_interval / val_begin.')

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        for scheduler in _plateau_schedulers(runner):
            if metrics is None or scheduler.monitor not in metrics:
                available = sorted(metrics or {})
                raise ValueError(
                    f'{type(scheduler).__name__}: monitor '
                    f'{scheduler.monitor!r} is not among the validation '
                    f'metrics {available}; set param_scheduler monitor= to '
                    f'one of them (e.g. "accuracy/top1").')
