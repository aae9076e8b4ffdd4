"""``import mmprelu`` changes nothing but the registries.

One fresh interpreter imports what mmprelu's own modules import anyway
(torch, mmengine, mmcv, mmpretrain's models/datasets/engine/evaluation:
their import-time effects are theirs), records the process state, imports
mmprelu and records it again. Then it calls the one documented line,
``mmprelu.apis.register_models()``, after which mmpretrain's hub knows
our names.
"""
import importlib.util
import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(m['Name']
               for m in yaml.safe_load((ROOT / 'configs' /
                                        'metafile.yml').read_text())['Models'])

SCRIPT = r'''
import json, logging, multiprocessing, os, random, signal, sys, tempfile
import threading, warnings
import numpy as np
import torch
import mmcv.cnn, mmcv.transforms, mmengine.runner
import mmpretrain, mmpretrain.datasets, mmpretrain.engine
import mmpretrain.evaluation, mmpretrain.models, mmpretrain.registry
import mmpretrain.structures
import mmengine.runner.checkpoint as mm_ckpt
from mmengine.runner import CheckpointLoader
from mmpretrain.apis import ModelHub

NAMES = json.loads(sys.argv[1])
CKPT = os.path.join(tempfile.mkdtemp(), 'tiny.pth')
torch.save({'w': torch.zeros(1)}, CKPT)


def local_loader():
    """The backend CheckpointLoader uses for a local file, from its public
    log line 'Loads checkpoint by <backend> backend'."""
    messages = []
    logger = logging.getLogger('mmprelu-import-probe')
    logger.setLevel(logging.INFO)
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        CheckpointLoader.load_checkpoint(CKPT, logger=logger)
    except Exception as err:
        messages.append(f'failed: {type(err).__name__}')
    logger.removeHandler(handler)
    return messages


def fds():
    try:
        return len(os.listdir('/proc/self/fd'))
    except OSError:  # not Linux
        return None


def name(obj):
    return (f'{getattr(obj, "__module__", "?")}.'
            f'{getattr(obj, "__qualname__", obj)}')


def state():
    return {
        'env': dict(os.environ),
        'threads': threading.active_count(),
        'children': len(multiprocessing.active_children()),
        'start_method': multiprocessing.get_start_method(allow_none=True),
        'fds': fds(),
        'cwd': os.getcwd(),
        'torch': [str(torch.get_default_dtype()), torch.get_num_threads(),
                  torch.is_grad_enabled(),
                  torch.are_deterministic_algorithms_enabled(),
                  torch.backends.cudnn.benchmark,
                  torch.backends.cudnn.deterministic],
        'rng': [float(torch.get_rng_state().double().sum()),
                repr(random.getstate())[-60:],
                float(np.random.get_state()[1].sum())],
        'warnings': [repr(f) for f in warnings.filters],
        'logging': [logging.getLogger().level,
                    [repr(h) for h in logging.getLogger().handlers]],
        'signals': [str(signal.getsignal(s)) for s in
                    (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD)],
        'excepthook': name(sys.excepthook),
        'hub': [ModelHub.has(n) for n in NAMES],
        'load_url': name(mm_ckpt.load_url),
        'local_loader': local_loader(),
    }


before_modules = set(sys.modules)
before = state()
import mmprelu  # noqa: E402
after = state()
new_modules = sorted(set(sys.modules) - before_modules)
from mmprelu.apis import register_models  # noqa: E402
registered = register_models()
hub = [ModelHub.has(n) for n in NAMES]
# the documented opt-in line of a config's custom_imports
import mmprelu.engine.safe_loading  # noqa: E402,F401
print(json.dumps(dict(before=before, after=after, new_modules=new_modules,
                      registered=registered, hub=hub, opted_in=state())))
'''

LOADER_KEYS = ('local_loader', 'load_url')


def is_stdlib(name):
    """``name`` is a top-level module of Python's standard library
    (``sys.stdlib_module_names`` exists from Python 3.10)."""
    names = getattr(sys, 'stdlib_module_names', None)
    if names is not None:
        return name in names
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin in (None, 'built-in', 'frozen'):
        return spec is not None
    stdlib = Path(sysconfig.get_paths()['stdlib']).resolve()
    origin = Path(spec.origin).resolve()
    return stdlib in origin.parents and 'site-packages' not in origin.parts


@pytest.fixture(scope='module')
def probe():
    out = subprocess.run([sys.executable, '-c', SCRIPT,
                          json.dumps(NAMES)],
                         cwd=ROOT,
                         capture_output=True,
                         text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_adds_only_mmprelu_modules(probe):
    others = [
        m for m in probe['new_modules']
        if m != 'mmprelu' and not m.startswith('mmprelu.')
    ]
    # a stdlib module mmprelu uses may be new; no third-party package, no
    # torch extension build, no multiprocessing shared memory
    assert [m for m in others if not is_stdlib(m.split('.')[0])] == []
    assert 'multiprocessing.sharedctypes' not in others


@pytest.mark.parametrize('key', [
    'env', 'threads', 'children', 'start_method', 'fds', 'cwd', 'torch', 'rng',
    'warnings', 'logging', 'signals', 'excepthook'
])
def test_import_leaves_process_state_alone(probe, key):
    assert probe['after'][key] == probe['before'][key]


def test_hub_names_only_after_register_models(probe):
    assert not any(probe['before']['hub'])
    assert not any(probe['after']['hub'])  # lazy: import does not register
    assert probe['registered'] == sorted(n.lower() for n in NAMES)
    assert all(probe['hub'])


@pytest.mark.parametrize('key', LOADER_KEYS)
def test_import_keeps_mmengine_checkpoint_loading(probe, key):
    assert probe['before'][key] != []
    assert probe['after'][key] == probe['before'][key]


def test_safe_loading_import_switches_checkpoint_loading(probe):
    """``mmprelu.engine.safe_loading`` (named in every mmprelu config's
    ``custom_imports``) is what switches mmengine to our loader."""
    before, opted_in = probe['after'], probe['opted_in']
    assert not any('local_safely' in m for m in before['local_loader'])
    assert any('Loads checkpoint by local_safely backend' in m
               for m in opted_in['local_loader']), opted_in['local_loader']
    assert 'mmprelu' not in before['load_url']
    assert opted_in['load_url'] == \
        'mmprelu.engine.checkpoint_loaders.load_url_safely'
    # nothing else changed
    for key in ('env', 'threads', 'torch', 'rng', 'warnings', 'hub'):
        assert opted_in[key] == (probe['hub']
                                 if key == 'hub' else before[key]), key


CONFIG_SCRIPT = r'''
import sys
import mmengine.runner.checkpoint as mm_ckpt
from mmengine.config import Config
import mmprelu
print(mm_ckpt.load_url.__name__)
Config.fromfile(sys.argv[1])
print(mm_ckpt.load_url.__name__)
'''


@pytest.mark.parametrize('config', [
    'configs/prelu_net_tiny_1xb64_digits.py',
    'mmprelu/configs/prelu_net_tiny_1xb64_digits.py'
])
def test_reading_an_mmprelu_config_switches_checkpoint_loading(config):
    """Text and new-style configs: reading one imports
    ``mmprelu.engine.safe_loading`` (its ``custom_imports`` / generated
    ``__import__``), as stock tools read it before anything else."""
    out = subprocess.run(
        [sys.executable, '-c', CONFIG_SCRIPT,
         str(ROOT / config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-2:] == [
        'load_state_dict_from_url', 'load_url_safely'
    ]
