"""ChannelsLastHook: NHWC weights before train / val / test, same outputs;
under DDP converted before the gradient buckets are laid out."""
import copy
import logging
import os
import socket
import warnings
import weakref
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from mmprelu.engine.hooks import ChannelsLastHook
from mmprelu.engine.hooks.channels_last_hook import is_channels_last
from mmprelu.models import PReLUNet
from mmprelu.registry import HOOKS


def tiny_backbone():
    torch.manual_seed(0)
    arch = dict(
        channels=(8, 16),
        depths=(1, 2),
        kernel_sizes=(7, 3),
        strides=(2, 1),
        pools=(None, (2, 2)))
    model = PReLUNet(arch)
    model.init_weights()
    return model.eval()


def fake_runner(model):
    return SimpleNamespace(model=model, logger=logging.getLogger('test'))


@pytest.mark.parametrize('stage',
                         ['before_train', 'before_val', 'before_test'])
def test_weights_become_channels_last(stage):
    model = tiny_backbone()
    convs = [p for p in model.parameters() if p.dim() == 4]
    assert convs and not is_channels_last(model)
    params_before = list(model.parameters())
    getattr(ChannelsLastHook(), stage)(fake_runner(model))
    assert is_channels_last(model)
    assert all(
        p.is_contiguous(
            memory_format=torch.channels_last) and not p.is_contiguous()
        for p in convs)
    # the same Parameter objects (an optimizer built before still holds
    # them); the 1-D PReLU slopes are untouched
    assert all(a is b for a, b in zip(params_before, model.parameters()))
    assert all(p.is_contiguous() for p in model.parameters() if p.dim() < 4)


def test_forward_equals_contiguous_model():
    model = tiny_backbone()
    reference = copy.deepcopy(model)
    init_default_scope('mmpretrain')  # configs' scope (a test may leave mmdet)
    HOOKS.build(dict(type='ChannelsLastHook')).before_train(fake_runner(model))
    x = torch.randn(2, 3, 40, 48)
    with torch.no_grad():
        out, ref = model(x)[-1], reference(x)[-1]
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


def test_disabled_stage_leaves_model_alone():
    model = tiny_backbone()
    ChannelsLastHook(val=False).before_val(fake_runner(model))
    assert not is_channels_last(model)


def test_bad_argument_is_named():
    with pytest.raises(ValueError, match='train'):
        ChannelsLastHook(train='yes')


class ConvToy(BaseModel):
    """Two convolutions and a loss: enough for DDP gradient buckets."""

    def __init__(self):
        super().__init__()
        self.convs = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 4, 3))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.convs(inputs)
        return dict(loss=out.mean()) if mode == 'loss' else out


@pytest.fixture
def one_process_group(monkeypatch, tmp_path):
    """A 1-process gloo group, as tools/train.py sets up on CPU (DDP with
    one process still builds its gradient buckets)."""
    from mmprelu.apis.launch import init_distributed
    for name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):  # the Runner sets
        monkeypatch.setenv(name, os.environ.get(name, '2'))
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    for name, value in dict(
            RANK=0,
            WORLD_SIZE=1,
            LOCAL_RANK=0,
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=port).items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='gloo'))))
    try:
        init_distributed(cfg, 'pytorch')
        yield cfg
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def test_ddp_training_converts_before_buckets(one_process_group, tmp_path):
    """mmengine wraps the model in DDP before hooks exist; converting the
    wrapped model gave "Grad strides do not match bucket view strides".
    The hook converts and wraps again before training starts."""
    from mmengine.model import MMDistributedDataParallel
    from mmengine.runner import Runner
    cfg = one_process_group
    data = [dict(inputs=torch.randn(3, 12, 12)) for _ in range(4)]
    runner = Runner(
        model=ConvToy(),
        work_dir=str(tmp_path),
        launcher='pytorch',
        env_cfg=cfg.env_cfg,
        cfg=cfg,
        default_scope='mmpretrain',
        train_dataloader=DataLoader(
            data, batch_size=2, collate_fn=default_collate),
        train_cfg=dict(by_epoch=False, max_iters=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=None, logger=None),
        custom_hooks=[dict(type='ChannelsLastHook')])
    first = weakref.ref(runner.model)
    assert isinstance(runner.model, MMDistributedDataParallel)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        runner.train()
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if 'bucket view strides' in m], messages
    model = runner.model
    assert isinstance(model, MMDistributedDataParallel)
    assert model.device_ids is None  # the config's wrapper settings
    assert first() is None  # the old wrapper (and its reducer) is gone
    assert is_channels_last(model)
    # the optimizer still updates the model's parameters
    params = {
        id(p)
        for g in runner.optim_wrapper.param_groups
        for p in g['params']
    }
    assert params == {id(p) for p in model.parameters()}


def test_ddp_test_run_is_not_wrapped_again():
    """No optimizer wrapper built (a test / val run): nothing to do in
    before_run; the test stage converts in before_test."""
    model = tiny_backbone()
    runner = SimpleNamespace(
        model=model, optim_wrapper=None, logger=logging.getLogger('test'))
    ChannelsLastHook().before_run(runner)
    assert runner.model is model and not is_channels_last(model)
