"""Test-only hooks (not a test module), imported by the temporary configs of the tool tests
through ``custom_imports`` (PYTHONPATH=tests/test_tools):

* ``KillAtIterHook``: SIGKILL the training process right after the
  checkpoint of iteration ``$MMPRELU_TEST_KILL_AT_ITER`` is written;
* ``PoisonAtIterHook``: set one weight to NaN before iteration
  ``$MMPRELU_TEST_NAN_AT_ITER`` (a diverging loss on demand).
"""
import os
import signal

import torch
from mmengine.hooks import Hook

from mmprelu.registry import HOOKS


def _at(env_key, iteration):
    value = os.environ.get(env_key)
    return value is not None and iteration == int(value)


@HOOKS.register_module()
class KillAtIterHook(Hook):
    priority = 'LOWEST'  # after CheckpointHook has saved this iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if _at('MMPRELU_TEST_KILL_AT_ITER', runner.iter + 1):
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class PoisonAtIterHook(Hook):

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if _at('MMPRELU_TEST_NAN_AT_ITER', runner.iter + 1):
            with torch.no_grad():
                next(runner.model.parameters()).view(-1)[0] = float('nan')
