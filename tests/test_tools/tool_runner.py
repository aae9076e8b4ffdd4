"""Helpers to run the tools as subprocesses in tests (shared by the test
modules of this folder and its conftest.py)."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'prelu_net_tiny_1xb64_digits.py'
TIMEOUT = 180


def run(args, **kwargs):
    env = dict(os.environ)
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env['PATH']
    env['PYTHON'] = sys.executable
    env.update(kwargs.pop('env', {}))
    kwargs.setdefault('timeout', TIMEOUT)
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, **kwargs)


def python(tool, *args, **kwargs):
    return run([sys.executable,
                str(ROOT / 'tools' / tool), *map(str, args)], **kwargs)


def check(proc):
    assert proc.returncode == 0, (
        f'exit code {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}'
        f'\n--- stderr\n{proc.stderr[-5000:]}')
    return proc.stdout + proc.stderr


def load_meta(path):
    # our own checkpoint: trusted
    return torch.load(path, map_location='cpu', weights_only=False)['meta']


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
