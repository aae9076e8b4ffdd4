import os
import pickle
import shlex
import shutil
import uuid
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from mmengine.runner.checkpoint import _load_checkpoint

import mmprelu  # noqa: F401  (registers the hook and the safe loader)
from mmprelu.engine import checkpoint as safe_ckpt
from mmprelu.engine import load_checkpoint_safely
from mmprelu.engine.checkpoint_loaders import load_from_local_safely
from mmprelu.engine.hooks.checkpoint_hook import (WeightsOnlyCheckpointHook,
                                                  to_plain_types)

ENV = 'MMPRELU_ALLOW_UNSAFE_LOAD'


class Toy(BaseModel):

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.conv = nn.Conv2d(1, 2, 3)
        self.act = nn.PReLU(2)
        self.fc = nn.Linear(2, 2)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.fc(self.act(self.conv(inputs)).mean((2, 3)))
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(out, labels))
        return out


class Capture(Hook):
    """Records the loop state right after load_or_resume."""

    def before_train(self, runner):
        self.epoch, self.iter = runner.epoch, runner.iter
        self.scalars = dict(runner.message_hub.log_scalars)


def make_runner(work_dir, with_hook=True, max_epochs=2, **kwargs):
    data = [
        dict(inputs=torch.randn(1, 5, 5), labels=torch.tensor(i % 2))
        for i in range(8)
    ]
    hooks = [dict(type='WeightsOnlyCheckpointHook')] if with_hook else []
    return Runner(
        model=Toy(),
        work_dir=str(work_dir),
        experiment_name=f'ckpt_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=data,
            batch_size=4,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1]),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        custom_hooks=hooks + kwargs.pop('extra_hooks', []),
        default_scope='mmpretrain',
        **kwargs)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """epoch_1.pth from a Runner with the hook and from a stock Runner."""
    paths = {}
    for name, with_hook in (('ours', True), ('stock', False)):
        work_dir = tmp_path_factory.mktemp(name)
        make_runner(work_dir, with_hook).train()
        paths[name] = str(work_dir / 'epoch_1.pth')
    return paths


def buffers_of(checkpoint):
    """{key: (log, count)} of a trusted file's message hub, either form."""
    out = {}
    for key, buf in checkpoint['message_hub']['log_scalars'].items():
        if isinstance(buf, HistoryBuffer):
            out[key] = tuple(np.asarray(a) for a in buf.data)
        else:
            out[key] = (buf['log'].numpy(), buf['count'].numpy())
    return out


def test_our_checkpoint_loads_with_plain_weights_only(trained):
    """On every supported torch, 2.1's fixed allowlist included."""
    ckpt = torch.load(trained['ours'], weights_only=True)
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert buf['__mmprelu_history_buffer__'] == 1
    assert buf['log'].dtype == torch.float64 and len(buf['log']) == 2
    assert isinstance(ckpt['message_hub']['runtime_info']['eta'], float)
    # MultiStepLR keeps its milestones in a Counter, which torch 2.1 refuses
    milestones = ckpt['param_schedulers'][0]['milestones']
    assert milestones == {
        '__mmprelu_object__': 1,
        'type': 'collections.Counter',
        'data': [[1, 1]]
    }
    restored = load_checkpoint_safely(trained['ours'])
    assert restored['param_schedulers'][0]['milestones'] == Counter({1: 1})
    assert type(restored['param_schedulers'][0]['milestones']) is Counter
    with pytest.raises(pickle.UnpicklingError):  # the problem we solve
        torch.load(trained['stock'], weights_only=True)


@pytest.mark.parametrize('source', ['ours', 'stock'])
def test_load_checkpoint_safely_restores_history_buffers(trained, source):
    ckpt = load_checkpoint_safely(trained[source], map_location='cpu')
    trusted = torch.load(trained[source], weights_only=False)
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 2
    expected = buffers_of(trusted)
    assert set(expected) >= {'train/loss', 'train/lr'}
    for key, buf in ckpt['message_hub']['log_scalars'].items():
        assert isinstance(buf, HistoryBuffer)
        np.testing.assert_array_equal(buf.data[0], expected[key][0])
        np.testing.assert_array_equal(buf.data[1], expected[key][1])
        assert buf.mean() == pytest.approx(expected[key][0].mean())
    for k, v in trusted['state_dict'].items():
        assert torch.equal(ckpt['state_dict'][k], v)


@pytest.mark.parametrize('source', ['ours', 'stock'])
@pytest.mark.parametrize('resume', [True, False])
def test_runner_resume_and_load_from(trained, tmp_path, source, resume):
    capture = Capture()
    runner = make_runner(
        tmp_path,
        load_from=trained[source],
        resume=resume,
        extra_hooks=[capture])
    runner.train()
    weights = load_checkpoint_safely(trained[source])['state_dict']
    if not resume:  # weights only, loop starts afresh
        assert (capture.epoch, capture.iter) == (0, 0)
        assert capture.scalars == {}
        return
    assert (capture.epoch, capture.iter) == (1, 2)
    expected = buffers_of(torch.load(trained[source], weights_only=False))
    assert set(capture.scalars) == set(expected)
    for key, buf in capture.scalars.items():
        assert isinstance(buf, HistoryBuffer)
        np.testing.assert_array_equal(buf.data[0][:2], expected[key][0])
    # training went on from the resumed state: the lr decayed at epoch 1
    assert runner.optim_wrapper.get_lr()['lr'][0] == pytest.approx(0.01)
    assert type(runner.param_schedulers[0].milestones) is Counter
    assert (runner.epoch, runner.iter) == (2, 4)
    assert not torch.equal(runner.model.fc.weight, weights['fc.weight'])


def stripped(tmp_path, model):
    path = tmp_path / 'stripped.pth'
    torch.save(
        {
            'meta': {
                'epoch': 90,
                'mmpretrain_version': '1.2.0'
            },
            'state_dict': model.state_dict()
        }, path)
    return str(path)


@pytest.mark.parametrize('source', ['ours', 'stock', 'stripped'])
def test_pretrained_init_cfg(trained, tmp_path, source):
    if source == 'stripped':
        path = stripped(tmp_path, Toy())
    else:
        path = trained[source]
    expected = load_checkpoint_safely(path)['state_dict']
    model = Toy(init_cfg=dict(type='Pretrained', checkpoint=path))
    assert not torch.equal(model.fc.weight, expected['fc.weight'])
    model.init_weights()
    for k, v in model.state_dict().items():
        assert torch.equal(v, expected[k]), k


def test_stripped_checkpoint_loads(tmp_path):
    model = Toy()
    ckpt = _load_checkpoint(stripped(tmp_path, model))
    assert ckpt['meta']['epoch'] == 90
    assert torch.equal(ckpt['state_dict']['act.weight'], model.act.weight)


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {shlex.quote(str(self.marker))}', )


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil_epoch_1.pth'
    torch.save({
        'state_dict': Toy().state_dict(),
        'meta': Payload(marker)
    }, path)
    return str(path), marker


class GetAttr:
    """Abuses the getattr that stock HistoryBuffer pickles need."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


@pytest.mark.parametrize('value,match', [
    (GetAttr(), 'getattr'),
    (np.array([1, 'a'], dtype=object), 'ObjectDType'),
])
def test_allowlist_stays_data_only(tmp_path, monkeypatch, value, match):
    monkeypatch.delenv(ENV, raising=False)
    path = tmp_path / 'odd.pth'
    torch.save({'meta': value}, path)
    with pytest.raises(pickle.UnpicklingError, match=match):
        load_checkpoint_safely(path)


@pytest.mark.parametrize('loader', [load_checkpoint_safely, _load_checkpoint])
def test_planted_payload_is_refused(evil, monkeypatch, loader):
    monkeypatch.delenv(ENV, raising=False)
    path, marker = evil
    with pytest.raises(pickle.UnpicklingError) as info:
        loader(path)
    message = str(info.value)
    assert path in message and ENV in message
    assert 'system' in message  # the offending global is named
    assert not marker.exists()


def test_opt_in_runs_the_payload(evil, monkeypatch):
    logged = []
    monkeypatch.setattr(safe_ckpt, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    monkeypatch.setenv(ENV, '1')
    path, marker = evil
    ckpt = load_checkpoint_safely(path)
    assert marker.exists()  # the opt-in is real: the payload did run
    assert 'fc.weight' in ckpt['state_dict']
    assert len(logged) == 1 and path in logged[0]


def test_local_loader_is_registered(tmp_path):
    loader = CheckpointLoader._get_checkpoint_loader(str(tmp_path / 'a.pth'))
    assert loader is load_from_local_safely
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        _load_checkpoint(str(tmp_path / 'missing.pth'))


@pytest.mark.parametrize('name', ['good.pth', 'evil_epoch_1.pth'])
def test_http_loader_obeys_policy(evil, tmp_path, monkeypatch, name):
    """https:// downloads go through torch.hub (weights_only=False by
    default); we patched mmengine's load_url so they are weights-only too."""
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'hub'))
    served = tmp_path / 'served'
    served.mkdir()
    stripped(served, Toy())
    os.rename(served / 'stripped.pth', served / 'good.pth')
    shutil.copy(evil[0], served / 'evil_epoch_1.pth')
    monkeypatch.setattr(
        torch.hub,
        'download_url_to_file', lambda url, dst, *a, **k: shutil.copy(
            served / url.split('/')[-1], dst))
    url = f'https://example.com/{name}'
    if name == 'good.pth':
        assert _load_checkpoint(url)['meta']['epoch'] == 90
    else:
        with pytest.raises(pickle.UnpicklingError, match=ENV):
            _load_checkpoint(url)
        assert not evil[1].exists()


def test_hook_converts_everywhere_without_mutating():
    live = [np.float32(0.5)]
    ckpt = {
        'meta': {
            'arr': np.arange(3, dtype=np.int16),
            'n': np.int64(7),
            np.int64(3): 'key',
            'nested': (live, {1, 2})
        },
        'sched': [{
            'base_values': live
        }]
    }
    WeightsOnlyCheckpointHook().before_save_checkpoint(None, ckpt)
    assert type(live[0]) is np.float32  # the live list is untouched
    meta = ckpt['meta']
    assert meta['n'] == 7 and type(meta['n']) is int and meta[3] == 'key'
    assert ckpt['sched'][0]['base_values'] == [0.5]
    restored = safe_ckpt.restore_plain_types(ckpt)
    assert restored['meta']['arr'].dtype == np.int16
    np.testing.assert_array_equal(restored['meta']['arr'], [0, 1, 2])


@pytest.mark.parametrize('bad,match', [
    ({
        'x': [object()]
    }, r"checkpoint\['meta'\]\['x'\]\[0\] is a builtins"),
    ({
        'x': np.array(['a'])
    }, r"checkpoint\['meta'\]\['x'\]: numpy array"),
])
def test_hook_names_key_path_of_unsupported_value(bad, match):
    with pytest.raises(TypeError, match=match):
        WeightsOnlyCheckpointHook().before_save_checkpoint(None, {'meta': bad})
    kept = to_plain_types({'x': [Ellipsis]}, strict=False)
    assert kept['x'][0] is Ellipsis
    with pytest.raises(TypeError, match='strict'):
        WeightsOnlyCheckpointHook(strict='yes')
