"""Our tools/train.py and tools/test.py give the same config as mmpretrain's
stock tools for every flag they share, ``--cfg-options`` merged last in
both; the differences that remain are the ones docs/downstream.md
lists."""
import importlib.util
import sys
from pathlib import Path

import mmpretrain
import pytest
import torch
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'prelu_net_tiny_1xb64_digits.py'
STOCK = Path(mmpretrain.__file__).parent / '.mim' / 'tools'


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OURS = {
    tool: load(ROOT / 'tools' / f'{tool}.py', f'our_{tool}')
    for tool in ('train', 'test')
}
THEIRS = {
    tool: load(STOCK / f'{tool}.py', f'stock_{tool}')
    for tool in ('train', 'test')
}


@pytest.fixture(autouse=True)
def cuda(monkeypatch):
    """pin_memory defaults to True with CUDA in ours (a listed difference:
    mmpretrain pins always); compare where both pin."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)


def configs(tool, argv, monkeypatch, drop=()):
    """(ours, mmpretrain's) config for the command line ``argv``."""

    def fresh():
        cfg = Config.fromfile(CONFIG).to_dict()
        return Config({k: v for k, v in cfg.items() if k not in drop})

    parser = OURS[tool].build_parser()
    ours = OURS[tool].merge_args(fresh(), parser.parse_args(argv), parser)
    monkeypatch.setattr(sys, 'argv', [f'{tool}.py'] + argv)
    theirs = THEIRS[tool].merge_args(fresh(), THEIRS[tool].parse_args())
    return ours.to_dict(), theirs.to_dict()


@pytest.mark.parametrize(
    'flags',
    [
        [],
        ['--work-dir', 'out'],
        ['--resume'],
        ['--resume', 'ckpt.pth'],
        ['--amp'],
        ['--no-validate'],
        ['--auto-scale-lr'],
        ['--no-pin-memory'],
        ['--no-persistent-workers'],
        ['--launcher', 'pytorch'],
        [
            '--amp', '--resume', '--auto-scale-lr', '--no-validate',
            '--work-dir', 'out', '--no-pin-memory', '--no-persistent-workers'
        ],
        # --cfg-options win over every other flag, as in mmpretrain
        ['--amp', '--cfg-options', 'optim_wrapper.type=OptimWrapper'],
        [
            '--resume', 'ckpt.pth', '--cfg-options', 'resume=False',
            'load_from=None'
        ],
        [
            '--no-pin-memory', '--cfg-options',
            'train_dataloader.pin_memory=True'
        ],
        [
            '--no-persistent-workers', '--cfg-options',
            'val_dataloader.persistent_workers=True'
        ],
        ['--work-dir', 'out', '--cfg-options', 'work_dir=mine'],
        ['--auto-scale-lr', '--cfg-options', 'auto_scale_lr.enable=False'],
        ['--no-validate', '--cfg-options', 'train_cfg.max_epochs=2'],
    ],
    ids=' '.join)
def test_train_flags_give_mmpretrains_config(flags, monkeypatch):
    ours, theirs = configs('train', [str(CONFIG)] + flags, monkeypatch)
    assert ours == theirs


@pytest.mark.parametrize(
    'flags,drop',
    [
        ([], ()),
        (['--work-dir', 'out'], ()),
        (['--amp'], ()),
        (['--show-dir', 'vis'], ()),
        (['--show', '--wait-time', '1', '--interval', '3'], ()),
        (['--no-pin-memory'], ()),
        (['--launcher', 'pytorch'], ()),
        (['--tta'], ()),  # the config's tta_model and tta_pipeline
        (['--tta'], ('tta_model', 'tta_pipeline')),  # the default flip TTA
        ([
            '--tta', '--cfg-options', 'model.window=5',
            'model.module.head.num_classes=7'
        ], ()),
        ([
            '--no-pin-memory', '--cfg-options',
            'test_dataloader.pin_memory=True', 'test_dataloader.batch_size=3'
        ], ()),
    ],
    ids=lambda v: ' '.join(v) if v and isinstance(v, list) else str(v))
def test_test_flags_give_mmpretrains_config(flags, drop, monkeypatch):
    ours, theirs = configs('test', [str(CONFIG), 'ckpt.pth'] + flags,
                           monkeypatch, drop)
    assert ours == theirs


def test_listed_differences(monkeypatch):
    """No CUDA: no pinning; no workers: no persistent workers (PyTorch
    rejects the pair) -- docs/downstream.md."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    argv = [str(CONFIG), '--cfg-options', 'train_dataloader.num_workers=0']
    ours, theirs = configs('train', argv, monkeypatch)
    assert ours['train_dataloader']['pin_memory'] is False
    assert theirs['train_dataloader']['pin_memory'] is True
    assert ours['train_dataloader']['persistent_workers'] is False
    assert theirs['train_dataloader']['persistent_workers'] is True
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for config in (ours, theirs):
            config[loader].pop('pin_memory')
        ours[loader].pop('persistent_workers')
        theirs[loader].pop('persistent_workers')
    assert ours == theirs
