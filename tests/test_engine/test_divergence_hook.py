"""DivergenceHook: stops at a NaN/Inf loss, naming the iteration (the
end-to-end run is tests/test_tools/test_fault_tolerance.py)."""
import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

from mmprelu.engine.hooks import DivergenceHook, TrainingDiverged


def runner(iteration=4, epoch=1, last_ckpt=None, params=(1., )):
    hub = MessageHub.get_instance('divergence_test')
    hub.update_info('last_ckpt', last_ckpt)
    model = torch.nn.Linear(1, len(params), bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor(params)[:, None])
    return SimpleNamespace(
        iter=iteration,
        epoch=epoch,
        message_hub=hub,
        model=model,
        logger=logging.getLogger('test'))


@pytest.mark.parametrize('loss', [
    float('nan'),
    float('inf'),
    torch.tensor(float('-inf')),
    torch.tensor([1., float('nan')])
])
def test_non_finite_loss_raises(loss):
    with pytest.raises(TrainingDiverged) as err:
        DivergenceHook().after_train_iter(
            runner(last_ckpt='w/epoch_1.pth'), 2, outputs={'loss': loss})
    message = str(err.value)
    assert 'iteration 5 (epoch 2, batch 3)' in message
    assert 'w/epoch_1.pth, is kept' in message


@pytest.mark.parametrize('outputs', [{
    'loss': torch.tensor(2.3)
}, {
    'loss': 0.5,
    'acc': float('nan')
}, {}, None])
def test_finite_or_missing_loss_passes(outputs):
    assert DivergenceHook().after_train_iter(
        runner(), 0, outputs=outputs) is None


def test_other_keys_interval_and_params():
    hook = DivergenceHook(keys='loss_cls', interval=2)
    bad = {'loss_cls': torch.tensor(float('nan'))}
    hook.after_train_iter(runner(iteration=0), 0, outputs=bad)  # skipped
    with pytest.raises(TrainingDiverged, match='no checkpoint had been'):
        hook.after_train_iter(runner(iteration=1), 1, outputs=bad)
    with pytest.raises(TrainingDiverged, match='parameter weight'):
        DivergenceHook(check_params=True).after_train_iter(
            runner(params=(1., float('nan'))), 0, outputs={'loss': 1.})


@pytest.mark.parametrize(
    'kwargs', [dict(keys=()), dict(keys=[3]),
               dict(interval=0)])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError, match='DivergenceHook'):
        DivergenceHook(**kwargs)
