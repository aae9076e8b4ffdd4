"""Test-only hooks (not a test module), imported by the temporary configs of
the tool tests through ``custom_imports`` (PYTHONPATH=tests/test_tools):

* ``KillAtIterHook``: SIGKILL the training process right after the
  checkpoint of iteration ``$MMPRELU_TEST_KILL_AT_ITER`` is written;
* ``PoisonAtIterHook``: set one weight to NaN before iteration
  ``$MMPRELU_TEST_NAN_AT_ITER`` (a diverging loss on demand);
* ``FaultPlanHook``: kills, hangs, damaged and half-written checkpoints per
  rank and torchrun restart round (``$MMPRELU_TEST_FAULTS``).
"""
import os
import signal
import time

import torch
from mmengine.hooks import Hook

from mmprelu.registry import HOOKS


def _at(env_key, iteration):
    value = os.environ.get(env_key)
    return value is not None and iteration == int(value)


@HOOKS.register_module()
class KillAtIterHook(Hook):
    priority = 'LOWEST'  # after CheckpointHook has saved this iteration

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if _at('MMPRELU_TEST_KILL_AT_ITER', runner.iter + 1):
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class PoisonAtIterHook(Hook):

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if _at('MMPRELU_TEST_NAN_AT_ITER', runner.iter + 1):
            with torch.no_grad():
                next(runner.model.parameters()).view(-1)[0] = float('nan')


def _planned(hook_round, rank, iteration):
    """The actions of $MMPRELU_TEST_FAULTS ('round:rank:iter:action' items,
    comma-separated) for this restart round, rank and iteration."""
    actions = []
    for item in filter(None,
                       os.environ.get('MMPRELU_TEST_FAULTS', '').split(',')):
        r, k, i, action = item.split(':')
        if (int(r), int(k), int(i)) == (hook_round, rank, iteration):
            actions.append(action)
    return actions


def _half_write_then_die(self, obj, filepath):
    with open(filepath, 'wb') as f:
        f.write(obj[:len(obj) // 2])
        f.flush()
        os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class FaultPlanHook(Hook):
    """Faults of the multi-process tests, planned in $MMPRELU_TEST_FAULTS
    per torchrun restart round ($TORCHELASTIC_RESTART_COUNT), rank and
    1-based iteration (after that iteration's checkpoints are written):

    * ``kill``: SIGKILL this rank (after any ``corrupt`` planned for the
      same round and iteration on another rank is done);
    * ``corrupt``: overwrite 64 bytes in the middle of ``iter_<i>.pth``;
    * ``stop``: SIGSTOP this rank (a hang), after writing its pid and the
      time to ``$MMPRELU_TEST_STOPPED``;
    * ``killwrite``: the write of the checkpoint of iteration ``i`` stops
      half-way with SIGKILL.
    """
    priority = 'LOWEST'

    def _now(self, runner, iteration):
        round_ = int(os.environ.get('TORCHELASTIC_RESTART_COUNT', 0))
        return round_, _planned(round_, runner.rank, iteration)

    def before_save_checkpoint(self, runner, checkpoint):
        _, actions = self._now(runner, checkpoint['meta']['iter'])
        if 'killwrite' in actions:
            from mmengine.fileio import LocalBackend
            LocalBackend.put = _half_write_then_die

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        iteration = runner.iter + 1
        round_, actions = self._now(runner, iteration)
        marker = os.path.join(runner.work_dir,
                              f'.corrupted_{round_}_{iteration}')
        if 'corrupt' in actions:
            path = os.path.join(runner.work_dir, f'iter_{iteration}.pth')
            with open(path, 'r+b') as f:
                f.seek(os.path.getsize(path) // 2)
                f.write(b'\xff' * 64)
            open(marker, 'w').close()
        if 'stop' in actions:
            with open(os.environ['MMPRELU_TEST_STOPPED'], 'w') as f:
                f.write(f'{os.getpid()} {time.time()}')
            os.kill(os.getpid(), signal.SIGSTOP)
        if 'kill' in actions:
            if any(f':{iteration}:corrupt' in item
                   for item in os.environ['MMPRELU_TEST_FAULTS'].split(',')
                   if item.startswith(f'{round_}:')):
                deadline = time.time() + 60
                while not os.path.exists(marker) and time.time() < deadline:
                    time.sleep(0.05)
            os.kill(os.getpid(), signal.SIGKILL)
