"""Every shipped config takes overrides written the upstream way. For each
config (classification, zoo, experiments; det where mmdet imports):

* every ``default_hooks`` entry and the train sampler that stands in for an
  upstream type (a subclass of an mmengine / mmpretrain / mmdet class) is
  configured with that type's arguments only;
* a derived config switching the entry back to the upstream type
  (``CheckpointHook``, ``LoggerHook(interval=...)``, ``DefaultSampler``) is
  merged the mmengine way, built as the Runner builds it, and its
  checkpoint hook saves once through ``Runner.save_checkpoint``'s
  signature (a fake runner; one tiny real Runner for the digits config);
* ``custom_hooks=[dict(type='EMAHook')]`` builds alongside our hooks.
"""
import importlib
import importlib.util
import inspect
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import CheckpointHook, Hook, LoggerHook
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmprelu  # noqa: F401  (registers our types)
from toy_model import Toy

ROOT = Path(__file__).resolve().parents[2]
HAS_MMDET = importlib.util.find_spec('mmdet') is not None
CONFIGS = sorted([p for p in (ROOT / 'configs').glob('*.py')] + [
    p for sub in ('zoo', 'experiments')
    for p in (ROOT / 'configs' / sub).glob('*.py')
] + ([p
      for p in (ROOT / 'configs' / 'det').glob('*.py')] if HAS_MMDET else []))
IDS = [str(p.relative_to(ROOT / 'configs')) for p in CONFIGS]
UPSTREAM = ('mmengine.', 'mmpretrain.', 'mmdet.')

# derived-config bodies, the way mmpretrain's and mmdet's docs write them
OVERRIDES = {
    'checkpoint': "default_hooks = dict(checkpoint=dict("
    "type='CheckpointHook', interval=1))",
    'logger': "default_hooks = dict(logger=dict(type='LoggerHook', "
    "interval=7))",
    'sampler': "train_dataloader = dict(sampler=dict(type='DefaultSampler'))",
    'ema': "custom_hooks = [dict(type='EMAHook')]",
}


def derived(tmp_path, config, body):
    path = tmp_path / f'derived_{uuid.uuid4().hex}.py'
    path.write_text(f'_base_ = [{str(config)!r}]\n{body}\n')
    cfg = Config.fromfile(path)
    init_default_scope(cfg.default_scope)
    return cfg


def registry(cfg):
    """The config's scope's registries (``mmpretrain.registry``,
    ``mmdet.registry``), which the Runner builds from."""
    return importlib.import_module(f'{cfg.default_scope}.registry')


def upstream_of(cls):
    """The upstream class ``cls`` stands in for: itself if it is
    upstream's, else its nearest upstream base (None: only ``Hook`` /
    ``object``)."""
    for base in cls.__mro__:
        if base.__module__.startswith(UPSTREAM) and base not in (Hook, object):
            return base
    return None


def named_args(cls):
    return {
        name
        for name, p in inspect.signature(cls).parameters.items()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def stand_ins(cfg):
    """``(key, config entry, our class, upstream class)`` of the entries
    (and the train sampler) of ours that stand in for an upstream type."""
    reg = registry(cfg)
    entries = [(f'default_hooks.{k}', v, reg.HOOKS.get(v['type']))
               for k, v in cfg.default_hooks.items()]
    sampler = cfg.train_dataloader.sampler
    entries.append(('train_dataloader.sampler', sampler,
                    reg.DATA_SAMPLERS.get(sampler['type'])))
    return [(key, entry, cls, upstream_of(cls)) for key, entry, cls in entries
            if upstream_of(cls) not in (None, cls)]


@pytest.mark.parametrize('config', CONFIGS, ids=IDS)
def test_stand_ins_take_upstream_arguments(config, tmp_path):
    cfg = derived(tmp_path, config, '')
    found = stand_ins(cfg)
    for key, entry, ours, upstream in found:
        extra = set(entry) - {'type'} - named_args(upstream)
        assert not extra, (f'{config.name}: {key} ({ours.__name__}, for '
                           f'{upstream.__name__}) sets {sorted(extra)}')
        extra = named_args(ours) - named_args(upstream)
        assert not extra, (f'{ours.__name__} takes {sorted(extra)}, which '
                           f'{upstream.__name__} does not')
    if cfg.default_scope == 'mmpretrain':  # ours: the two stand-ins
        assert {key
                for key, *_ in found
                } >= {'default_hooks.checkpoint', 'train_dataloader.sampler'}


class FakeRunner(SimpleNamespace):
    """What CheckpointHook uses of a Runner; ``save_checkpoint`` takes
    exactly ``Runner.save_checkpoint``'s arguments."""

    def save_checkpoint(self, *args, **kwargs):
        bound = inspect.signature(Runner.save_checkpoint).bind(
            self, *args, **kwargs)
        bound.apply_defaults()
        out_dir, filename = bound.arguments['out_dir'], bound.arguments[
            'filename']
        torch.save({'meta': bound.arguments['meta']}, f'{out_dir}/{filename}')


def fake_runner(work_dir):
    return FakeRunner(
        work_dir=str(work_dir),
        epoch=0,
        iter=4,
        max_epochs=2,
        logger=MMLogger.get_current_instance(),
        message_hub=MessageHub.get_instance(f'hub_{uuid.uuid4().hex}'))


def build_hooks(cfg, work_dir):
    """The hooks of ``cfg`` built as Runner.register_hooks does (after its
    visualizer, which visualization hooks look up)."""
    registry(cfg).VISUALIZERS.build(
        dict(cfg.visualizer, name=uuid.uuid4().hex, save_dir=str(work_dir)))
    hooks = registry(cfg).HOOKS
    return {
        k: hooks.build(v)
        for k, v in cfg.default_hooks.items()
    }, [hooks.build(hook) for hook in cfg.get('custom_hooks', None) or []]


@pytest.mark.parametrize('override', sorted(OVERRIDES))
@pytest.mark.parametrize('config', CONFIGS, ids=IDS)
def test_upstream_override(config, override, tmp_path):
    cfg = derived(tmp_path, config, OVERRIDES[override])
    if override == 'sampler':
        sampler = registry(cfg).DATA_SAMPLERS.build(
            cfg.train_dataloader.sampler,
            default_args=dict(dataset=list(range(10)), seed=0))
        assert type(sampler).__name__ == 'DefaultSampler'
        assert sorted(sampler) == list(range(10))
        return
    defaults, custom = build_hooks(cfg, tmp_path)
    if override == 'logger':
        assert type(defaults['logger']) is LoggerHook
        assert defaults['logger'].interval == 7
    elif override == 'ema':
        assert [type(h).__name__ for h in custom] == ['EMAHook']
        assert set(defaults) == set(cfg.default_hooks)
    else:
        hook = defaults['checkpoint']
        assert type(hook) is CheckpointHook
        runner = fake_runner(tmp_path)
        hook.before_train(runner)
        hook.after_train_epoch(runner)  # epoch 1 of 2, interval 1: saves
        saved = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
        assert saved['meta'] == {'epoch': 1, 'iter': 4}
        assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path /
                                                                 'epoch_1.pth')


def test_tiny_runner_trains_past_a_save_and_resumes(tmp_path):
    """The digits config's hooks and sampler, overridden the upstream way
    all at once, in a Runner (toy model): training passes the epoch-end
    checkpoint save (where the override used to crash) and resumes."""
    digits = ROOT / 'configs' / 'prelu_net_tiny_1xb64_digits.py'
    cfg = derived(tmp_path, digits, '\n'.join(OVERRIDES.values()))
    data = [
        dict(inputs=torch.randn(3), labels=torch.tensor(i % 2))
        for i in range(8)
    ]

    def runner(max_epochs, resume):
        return Runner(
            model=Toy(),
            work_dir=str(tmp_path / 'work'),
            experiment_name=f'upstream_{uuid.uuid4().hex}',
            train_dataloader=dict(
                dataset=data,
                batch_size=4,
                num_workers=0,
                sampler=cfg.train_dataloader.sampler,
                collate_fn=dict(type='default_collate')),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
            default_hooks=cfg.default_hooks,
            custom_hooks=cfg.custom_hooks,
            default_scope=cfg.default_scope,
            randomness=dict(seed=0),
            resume=resume)

    runner(1, False).train()
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
    resumed = runner(2, True)
    resumed.train()
    assert (resumed.epoch, resumed.iter) == (2, 4)
    assert (tmp_path / 'work' / 'epoch_2.pth').is_file()
