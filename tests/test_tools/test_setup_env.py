"""tools/setup_env.sh: its stack switch, without installing anything (which
venv folder each stack uses, as tools/run_tests.sh asks; a clear error for
an unknown stack), and the install it made of this venv's mmprelu, which
stock OpenMMLab tools must read mmprelu's configs from."""
import os
import subprocess
import sys
from pathlib import Path

import mmpretrain
import pytest

from tool_runner import ROOT
from wheel_install import doc_files

SCRIPT = str(ROOT / 'tools' / 'setup_env.sh')


def setup_env(*args, **env):
    full = {
        k: v
        for k, v in os.environ.items() if not k.startswith('MMPRELU_')
    }
    full.update(env)
    return subprocess.run(['bash', SCRIPT, *args],
                          env=full,
                          capture_output=True,
                          text=True,
                          timeout=60)


@pytest.mark.parametrize('env,folder', [
    ({}, '.venv'),
    ({
        'MMPRELU_MMCV': 'lite'
    }, '.venv'),
    ({
        'MMPRELU_STACK': 'newest'
    }, '.venv'),
    ({
        'MMPRELU_STACK': 'oldest'
    }, '.venv-oldest'),
    ({
        'MMPRELU_STACK': 'oldest',
        'MMPRELU_MMCV': 'full'
    }, '.venv-oldest-full'),
    ({
        'MMPRELU_STACK': 'oldest',
        'MMPRELU_VENV': 'elsewhere'
    }, 'elsewhere'),
])
def test_each_stack_has_its_own_venv(env, folder):
    out = setup_env('--print-venv', **env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(ROOT / folder)


def test_unknown_stack_is_refused_before_anything_is_installed(tmp_path):
    venv = tmp_path / 'venv'
    out = setup_env(MMPRELU_STACK='ancient', MMPRELU_VENV=str(venv))
    assert out.returncode == 1
    assert "MMPRELU_STACK='ancient' is not valid" in out.stderr
    assert 'newest, oldest' in out.stderr
    assert not venv.exists()


PRINT_CONFIG = (
    Path(mmpretrain.__file__).parent / '.mim' / 'tools' / 'misc' /
    'print_config.py')
ZOO = ('from mmengine.config import read_base\n\nwith read_base():\n'
       '    from mmprelu.configs.zoo.resnet50_prelu_8xb32_in1k import *\n')


def run_installed(args, cwd):
    """A process as a user of this venv runs it: no ``PYTHONPATH`` (the
    installed mmprelu, not a checkout on the path), outside the
    repository."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run([sys.executable, *map(str, args)],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_stock_tools_read_configs_with_this_install(tmp_path):
    """mmpretrain's stock config reader (print_config.py: ``Config.fromfile``,
    as its train.py) parses docs/downstream.md's new-style config and a zoo
    config (generated mmpretrain bases) in a project folder, and our loader
    the text-style one. A PEP 660 ``pip install -e .`` fails here: mmengine
    looks for the package at ``site-packages/mmprelu``."""
    files = dict(doc_files(ROOT / 'docs' / 'downstream.md'), **{'zoo.py': ZOO})
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    probe = run_installed([
        '-W', 'ignore', '-c',
        ('import os, mmprelu\nfrom mmengine.utils import get_installed_path\n'
         'print(os.path.dirname(mmprelu.__file__))\n'
         'print(get_installed_path("mmprelu"))')
    ], tmp_path)
    assert probe.returncode == 0, probe.stderr[-3000:]
    imported, found = probe.stdout.split()[-2:]
    assert Path(found).resolve() == Path(imported).resolve(), (
        f'stock tools look for mmprelu.configs under {found}, while import '
        f'loads {imported}: not the install tools/setup_env.sh makes (a PEP '
        f'660 editable one?); run `bash tools/setup_env.sh`')
    for config, shown in (('my_classifier.py', 'num_classes=10'),
                          ('zoo.py', "type='PReLUConverted'")):
        proc = run_installed([PRINT_CONFIG, config], tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert shown in proc.stdout, config
    proc = run_installed([
        '-c',
        ('from mmprelu.apis import load_config\n'
         'print(load_config("my_classifier_text.py").model.head)')
    ], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "'num_classes': 10" in proc.stdout
