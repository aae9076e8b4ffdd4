"""tools/setup_env.sh's stack switch, without installing anything: which
venv folder each stack uses (tools/run_tests.sh asks the same question),
and a clear error for an unknown stack."""
import os
import subprocess

import pytest

from tool_runner import ROOT

SCRIPT = str(ROOT / 'tools' / 'setup_env.sh')


def setup_env(*args, **env):
    full = {k: v for k, v in os.environ.items()
            if not k.startswith('MMPRELU_')}
    full.update(env)
    return subprocess.run(['bash', SCRIPT, *args], env=full,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize('env,folder', [
    ({}, '.venv'),
    ({'MMPRELU_MMCV': 'lite'}, '.venv'),
    ({'MMPRELU_STACK': 'newest'}, '.venv'),
    ({'MMPRELU_STACK': 'oldest'}, '.venv-oldest'),
    ({'MMPRELU_STACK': 'oldest', 'MMPRELU_MMCV': 'full'},
     '.venv-oldest-full'),
    ({'MMPRELU_STACK': 'oldest', 'MMPRELU_VENV': 'elsewhere'}, 'elsewhere'),
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
