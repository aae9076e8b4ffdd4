"""The one switch every optional hook of mmprelu has: ``enable``."""
from mmengine.hooks import Hook

__all__ = ['SwitchableHook']


def _do_nothing(*args, **kwargs) -> None:
    return None


class SwitchableHook(Hook):
    """Base of mmprelu's own hooks in ``default_hooks`` (the extras that
    upstream lacks): ``enable=False`` turns every stage of the hook into a
    no-op, so each extra is one line to switch off, e.g.
    ``--cfg-options default_hooks.divergence.enable=False``.

    Why an argument: mmengine's ``Runner.register_default_hooks`` drops a
    ``None`` entry only for its own default hook names and fails an
    ``assert`` for any other key, so ``default_hooks.divergence=None``
    cannot switch one of ours off; mmpretrain's
    ``VisualizationHook(enable=...)`` is the precedent for the name.

    Args:
        enable (bool): run the hook. Defaults to True.
    """

    def __init__(self, enable: bool = True) -> None:
        if not isinstance(enable, bool):
            raise ValueError(f'{type(self).__name__}: enable must be True '
                             f'or False, got {enable!r}')
        self.enable = enable
        if not enable:
            for stage in Hook.stages:
                setattr(self, stage, _do_nothing)

    def get_triggered_stages(self) -> list:
        # the Runner's hook table then lists a switched-off hook with none
        return super().get_triggered_stages() if self.enable else []
