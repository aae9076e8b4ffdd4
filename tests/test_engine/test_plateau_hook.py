import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner

import mmprelu  # noqa: F401  (registers the hook)
from mmprelu.registry import METRICS


class Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.fc(inputs)
        if mode == 'loss':
            return dict(loss=(out - labels).pow(2).mean())
        return [dict(pred=o) for o in out]


@METRICS.register_module(force=True)
class ConstantMetric(BaseMetric):
    """Always reports the same accuracy: a plateau from the first epoch."""

    def process(self, data_batch, data_samples):
        self.results.append(1)

    def compute_metrics(self, results):
        return dict(top1=50.0)


def make_runner(tmp_path, monitor, with_val=True, val_interval=1):
    data = [
        dict(inputs=torch.randn(2), labels=torch.randn(1)) for _ in range(8)
    ]
    loader = dict(
        dataset=data,
        batch_size=4,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'))
    cfg = dict(
        model=Toy(),
        work_dir=str(tmp_path),
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        param_scheduler=dict(
            type='ReduceOnPlateauLR',
            monitor=monitor,
            rule='greater',
            patience=0,
            factor=0.1),
        train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=val_interval),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=100)),
        custom_hooks=[dict(type='CheckPlateauMonitorHook')],
        default_scope='mmpretrain')
    if with_val:
        cfg.update(
            val_dataloader=loader,
            val_cfg=dict(),
            val_evaluator=dict(type='ConstantMetric'))
    return Runner(**cfg)


def test_correct_monitor_reduces_lr(tmp_path):
    runner = make_runner(tmp_path, 'top1')
    runner.train()
    assert runner.optim_wrapper.get_lr()['lr'][0] < 0.1 * 0.5


def test_unknown_monitor_fails_loudly(tmp_path):
    runner = make_runner(tmp_path, 'accuracy/top1')
    with pytest.raises(ValueError, match=r"'accuracy/top1'.*\['top1'\]"):
        runner.train()


@pytest.mark.parametrize('kwargs,match', [
    (dict(with_val=False), 'no validation'),
    (dict(val_interval=5), 'would never change'),
])
def test_never_validated_fails_before_training(tmp_path, kwargs, match):
    runner = make_runner(tmp_path, 'top1', **kwargs)
    with pytest.raises(RuntimeError, match=match):
        runner.train()
    assert runner.iter == 0
