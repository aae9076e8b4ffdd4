"""Each extra of ours is one line to switch off: the lines of
docs/reliability.md's table, each given to the tiny digits config as
``--cfg-options`` are, with the extra provoked where it would act; training
then runs to the end and the extra does nothing."""
import argparse
import re
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import HistoryBuffer
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmprelu.datasets.transforms import loading
from mmprelu.engine.hooks import SwitchableHook
from mmprelu.engine.hooks.seeding import SampleSeededPipeline
from mmprelu.registry import HOOKS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'prelu_net_tiny_1xb64_digits.py'
DOC = ROOT / 'docs' / 'reliability.md'
ROW = re.compile(
    r'^\|.*\| `--cfg-options (default_hooks\.(\w+)\.\w+=\S+)` \|$')


def documented():
    """{entry: option} of the table in docs/reliability.md."""
    return {
        m.group(2): m.group(1)
        for m in map(ROW.match,
                     DOC.read_text().splitlines()) if m
    }


@HOOKS.register_module(force=True)
class PoisonFirstWeight(Hook):
    """Makes the loss NaN from the first iteration on."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        with torch.no_grad():
            next(runner.model.parameters()).view(-1)[0] = float('nan')


@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    """32 train and 8 val images of noise in the digits data's layout."""
    root = tmp_path_factory.mktemp('digits')
    rng = np.random.default_rng(0)
    for split, count in (('train', 32), ('val', 8)):
        lines = []
        for i in range(count):
            name = f'{i % 10}/{i}.png'
            (root / split / name).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(
                str(root / split / name),
                rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
            lines.append(f'{name} {i % 10}\n')
        (root / 'meta').mkdir(exist_ok=True)
        (root / 'meta' / f'{split}.txt').write_text(''.join(lines))
    return root


def build(digits, work_dir, options, edit=None):
    """The digits config, 2 iterations of batch 16 and no validation, with
    ``options`` parsed as tools/train.py's --cfg-options are."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    base = [
        f'{loader}_dataloader.{key}' for loader in ('train', 'val')
        for key in (f'dataset.data_root={digits}', 'num_workers=0',
                    'persistent_workers=False')
    ]
    base += [
        'train_dataloader.batch_size=16', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=10', 'randomness.seed=0'
    ]
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(
        parser.parse_args(['--cfg-options', *base, *options]).cfg_options)
    if edit is not None:
        edit(cfg)
    cfg.work_dir, cfg.experiment_name = str(work_dir), uuid.uuid4().hex
    init_default_scope('mmpretrain')
    return Runner.from_cfg(cfg)


def no_plateau_monitor(cfg):
    cfg.param_scheduler = dict(
        type='ReduceOnPlateauLR',
        by_epoch=True,
        monitor='accuracy/top1',
        rule='greater')
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None


def poisoned(cfg):
    cfg.custom_hooks = [dict(type='PoisonFirstWeight')]


def default_constructor(cfg):
    cfg.optim_wrapper = dict(optimizer=cfg.optim_wrapper.optimizer)


def saved(runner, name='epoch_1.pth'):
    # our own file: trusted
    return torch.load(f'{runner.work_dir}/{name}', weights_only=False)


def check_exact_resume(runner, work_dir):
    assert not isinstance(runner.train_dataloader.dataset.pipeline,
                          SampleSeededPipeline)
    assert 'exact_resume' not in saved(runner)


def check_checkpoint(runner, work_dir):
    assert [
        type(h) for h in runner.hooks
        if isinstance(h, CheckpointHook) and h.by_epoch
    ] == [CheckpointHook]
    assert not list(work_dir.glob('*.part'))


def check_iter_checkpoint(runner, work_dir):
    assert not list(work_dir.glob('iter_*.pth'))


def check_weights_only_checkpoint(runner, work_dir):
    scalars = saved(runner)['message_hub']['log_scalars']
    assert isinstance(scalars['train/loss'], HistoryBuffer)  # stock form


def check_divergence(runner, work_dir):
    assert torch.isnan(
        torch.tensor(runner.message_hub.get_scalar('train/loss').current()))


def check_bad_images(runner, work_dir):
    log = next(work_dir.rglob('*.log')).read_text()
    assert 'bad images skipped' not in log


CHECKS = {
    # entry: (options and config edit that make the extra act, the check)
    'exact_resume': ([], None, check_exact_resume),
    'checkpoint': ([], None, check_checkpoint),
    'iter_checkpoint': (['default_hooks.iter_checkpoint.interval=1'], None,
                        check_iter_checkpoint),
    'weights_only_checkpoint': ([], None, check_weights_only_checkpoint),
    'divergence': ([], poisoned, check_divergence),
    'bad_images': ([], None, check_bad_images),
    'plateau_check': ([], no_plateau_monitor, None),
    'slope_decay_check': (['default_hooks.slope_decay_check.strict=True'],
                          default_constructor, None),
}


def test_the_table_lists_every_extra():
    assert set(documented()) == set(CHECKS)


@pytest.mark.parametrize('entry', sorted(CHECKS))
def test_one_line_switches_it_off(digits, tmp_path, monkeypatch, entry):
    provoke, edit, check = CHECKS[entry]
    if entry == 'bad_images':
        monkeypatch.setattr(loading, 'bad_image_stats', lambda: {
            'total': 3,
            'skipped': 3,
            'files': []
        })
    line = documented()[entry]
    runner = build(digits, tmp_path, provoke + [line], edit)
    runner.train()
    assert runner.iter == 2 and (tmp_path / 'epoch_1.pth').is_file()
    if line.endswith('.enable=False'):
        hook, = [
            h for h in runner.hooks
            if type(h).__name__ == runner.cfg.default_hooks[entry]['type']
        ]
        assert isinstance(hook, SwitchableHook) and hook.enable is False
        assert hook.get_triggered_stages() == []
    if check is not None:
        check(runner, tmp_path)
