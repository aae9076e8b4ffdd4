"""Helpers of the fault tests (exact resume, divergence, bad images): a
temporary config on top of the digits config that adds the test-only hooks
of fault_hooks.py, and the environment that lets tools/train.py import
them."""
import os

from tool_runner import CONFIG

HERE = os.path.dirname(os.path.abspath(__file__))

# a plateau step after every validation, i.e. scheduler state for a resume
# to restore (the digits config itself has a fixed MultiStepLR schedule and
# validates every 10 epochs)
PLATEAU = '''
param_scheduler = dict(_delete_=True, type='ReduceOnPlateauLR',
                       monitor='accuracy/top1', rule='greater', factor=0.1,
                       patience=0, threshold=1000, threshold_rule='abs',
                       min_value=1e-4, by_epoch=True)
train_cfg = dict(val_interval=1)
'''


def write_config(directory, body=''):
    path = directory / 'fault_cfg.py'
    path.write_text(
        f'_base_ = [{str(CONFIG)!r}]\n'
        "custom_imports = dict(imports=['mmprelu', "
        "'mmprelu.engine.safe_loading', 'fault_hooks'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='KillAtIterHook'), "
        "dict(type='PoisonAtIterHook'), dict(type='FaultPlanHook')]\n" + body)
    return path


def fault_env(**values):
    env = {
        'PYTHONPATH': HERE + os.pathsep + os.environ.get('PYTHONPATH', ''),
        'OMP_NUM_THREADS': '1'
    }
    env.update({
        f'MMPRELU_TEST_{k.upper()}': str(v)
        for k, v in values.items()
    })
    return env
