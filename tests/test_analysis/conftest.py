"""Fixtures of the analysis-tool tests: ``tools/analysis`` on sys.path and
the digits data converted once per session."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANALYSIS = ROOT / 'tools' / 'analysis'
EXPERIMENTS = ROOT / 'configs' / 'experiments'
if str(ANALYSIS) not in sys.path:
    sys.path.insert(0, str(ANALYSIS))


@pytest.fixture(scope='session')
def digits_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('analysis_digits')
    proc = subprocess.run([
        sys.executable,
        str(ROOT / 'tools' / 'dataset_converters' / 'digits2imagenet.py'),
        str(root), '--size', '64'
    ],
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root


@pytest.fixture(autouse=True)
def _one_thread():
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
