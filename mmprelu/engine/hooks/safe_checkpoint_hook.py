"""mmengine's ``CheckpointHook``, made safe for long runs, and iteration
checkpoints beside the epoch ones.

What mmengine 0.10.7's hook does that can lose a run: it writes a
checkpoint straight to its final name and ``last_checkpoint`` with a plain
``open(..., 'w')`` (a kill meanwhile leaves a truncated file that
``--resume`` picks), and it deletes the oldest kept checkpoint *before*
writing the new one (with ``max_keep_ckpts=1`` a kill during the write
leaves nothing). :class:`SafeCheckpointHook` takes exactly the stock hook's
arguments, with their meanings, and writes the same files; it changes only
how they are written:

* the Runner writes ``<name>.part``; the hook then flushes it to disk and
  renames it (:func:`mmprelu.engine.checkpoint_files.publish`), and replaces
  ``last_checkpoint`` the same way. Remote ``out_dir`` backends (``s3://``
  ...) are written as before: their single ``put`` is atomic already.
* the checkpoint that falls out of ``max_keep_ckpts`` is deleted after the
  new one is in place.
* the ``.part`` files a killed run left are removed when training starts.

:class:`IterCheckpointHook` is a second checkpoint hook for the same Runner,
``default_hooks.iter_checkpoint``: ``CheckpointHook`` with ``by_epoch=False``
(``iter_<n>.pth`` every ``interval`` iterations; ``interval=-1``, the
default, never), written as above, so that a long epoch loses at most
``interval`` iterations to a crash; resuming from one is exact
(``ExactResumeHook``).
"""
import os
import os.path as osp
import re
from collections import deque

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.runner import EpochBasedTrainLoop

from mmprelu.registry import HOOKS
from ..checkpoint_files import PART_SUFFIX, publish, write_text_atomically

__all__ = ['SafeCheckpointHook', 'IterCheckpointHook']


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments, same files) whose checkpoints and
    ``last_checkpoint`` are never half-written (see the module docstring).
    """

    #: message-hub key listing the kept checkpoints' steps (mmengine's)
    keep_key = 'keep_ckpt_ids'

    def before_train(self, runner) -> None:
        # mmengine prunes resumed checkpoints listed under 'keep_ckpt_ids'
        # whatever the hook; keep_key is ours (IterCheckpointHook has its own)
        max_keep, self.max_keep_ckpts = self.max_keep_ckpts, -1
        try:
            super().before_train(runner)
        finally:
            self.max_keep_ckpts = max_keep
        if self._local() and is_main_process():
            ours = re.compile('|'.join([
                re.escape(self.filename_tmpl).replace(r'\{\}', r'\d+') +
                re.escape(PART_SUFFIX),
                re.escape('last_checkpoint' + PART_SUFFIX)
            ]))
            for folder in {self.out_dir, runner.work_dir}:
                names = os.listdir(folder) if osp.isdir(folder) else []
                for name in names:
                    if ours.fullmatch(name):
                        os.remove(osp.join(folder, name))
        self.keep_ckpt_ids = deque(
            runner.message_hub.get_info(self.keep_key, []))
        while 0 < self.max_keep_ckpts < len(self.keep_ckpt_ids):
            self._remove(
                self.filename_tmpl.format(self.keep_ckpt_ids.popleft()))

    # mmengine's CheckpointHook saves every regular and best checkpoint
    # through this private method; test_safe_checkpoint_hook.py fails if it
    # is renamed
    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        keep, dropped = self.keep_ckpt_ids, None
        if self.max_keep_ckpts > 0 and not (keep and keep[-1] == step):
            if len(keep) >= self.max_keep_ckpts:
                dropped = keep.popleft()
            keep.append(step)
            # before saving: the saved message hub lists this checkpoint
            runner.message_hub.update_info(self.keep_key, list(keep))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        local = self._local()
        runner.save_checkpoint(
            self.out_dir,
            filename + PART_SUFFIX if local else filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        if local:
            publish(self.last_ckpt + PART_SUFFIX, self.last_ckpt)
        write_text_atomically(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if dropped is not None and dropped != step:
            self._remove(self.filename_tmpl.format(dropped))

    def _local(self) -> bool:
        return isinstance(self.file_backend, LocalBackend)

    def _remove(self, filename: str) -> None:
        if not is_main_process():
            return
        path = self.file_backend.join_path(self.out_dir, filename)
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed checkpoints
            self.file_backend.rmtree(path)


@HOOKS.register_module()
class IterCheckpointHook(SafeCheckpointHook):
    """Iteration checkpoints beside an epoch ``CheckpointHook``: mmengine's
    ``CheckpointHook`` with ``by_epoch=False`` (its arguments and meanings;
    ``interval=-1`` never saves), written atomically like
    :class:`SafeCheckpointHook`. What makes two checkpoint hooks work in one
    Runner:

    * its kept checkpoints are listed under their own message-hub key,
      ``keep_iter_ckpt_ids``, so neither hook prunes the other's files on
      resume (mmengine's hook reads ``keep_ckpt_ids``);
    * an iteration that ends an epoch whose checkpoint another (epoch)
      ``CheckpointHook`` saves right after is not saved twice.

    Both hooks update ``last_ckpt`` and ``last_checkpoint``: they name the
    newest checkpoint of either kind. An iteration checkpoint's meta is
    mmengine's for ``by_epoch=False``: ``epoch`` counts the completed epochs
    and ``iter`` the completed iterations, from which ``--resume`` continues
    inside the epoch.
    """

    keep_key = 'keep_iter_ckpt_ids'

    def __init__(self,
                 interval: int = -1,
                 by_epoch: bool = False,
                 **kwargs) -> None:
        if by_epoch is not False:
            raise ValueError(
                f'IterCheckpointHook saves by iteration: by_epoch must be '
                f'False, got {by_epoch!r} (epoch checkpoints are '
                f"default_hooks.checkpoint's)")
        super().__init__(interval=interval, by_epoch=False, **kwargs)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not self._epoch_checkpoint_follows(runner):
            super().after_train_iter(runner, batch_idx, data_batch, outputs)

    def _epoch_checkpoint_follows(self, runner) -> bool:
        loop = runner.train_loop
        # batch_idx restarts at 0 in a resumed epoch: count from the run
        if not isinstance(loop, EpochBasedTrainLoop) or runner.iter + 1 != (
                runner.epoch + 1) * len(loop.dataloader):
            return False
        return any(
            isinstance(h, CheckpointHook) and h.by_epoch and (
                h.every_n_epochs(runner, h.interval, h.save_begin) or
                (h.save_last and h.is_last_train_epoch(runner)))
            for h in runner.hooks)
