"""Report how many bad images ``LoadImageSafely(ignore_empty=True)``
skipped: a long run survives unreadable files, but not silently (our
addition; the paper is silent)."""
from mmprelu.registry import HOOKS
from .switchable import SwitchableHook

__all__ = ['BadImageReportHook']


@HOOKS.register_module()
class BadImageReportHook(SwitchableHook):
    """Log the number of skipped bad images after every training epoch and
    at the end of training (only when there were any).

    The count is shared with dataloader workers started by ``fork`` (the
    configs' ``mp_start_method``); with ``spawn`` it covers only the main
    process. Each skipped file is named in its own warning.

    Args:
        enable (bool): ``False`` switches the report off. Defaults to True.
    """

    priority = 'BELOW_NORMAL'

    def __init__(self, enable: bool = True) -> None:
        super().__init__(enable)
        self._reported = 0

    def _report(self, runner, when: str) -> None:
        from mmprelu.datasets.transforms.loading import bad_image_stats
        total = bad_image_stats()['total']
        if total:
            runner.logger.warning(
                f'{when}: {total} bad images skipped so far '
                f'({total - self._reported} since the last report); see the '
                f'"skipped a bad image" warnings for the files')
        self._reported = total

    def after_train_epoch(self, runner) -> None:
        self._report(runner, f'epoch {runner.epoch + 1}')

    def after_train(self, runner) -> None:
        self._report(runner, 'end of training')
