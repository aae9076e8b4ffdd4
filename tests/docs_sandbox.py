"""Where tests/test_docs_exec.py runs the docs' commands: a checkout
copy outside the repository (a fresh clone's files), or a project folder;
the environment a user's shell would have there."""
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

from docs_blocks import ROOT

#: Not copied into the checkout (never tracked, or ours: see make_checkout).
UNCOPIED = ('.git', 'mmprelu', 'data', 'work_dirs', 'build', 'dist')


class Context:
    """Where a page's commands run: a folder, an environment and the shell
    variables its commands assigned (``MMPRELU=$(...)``)."""

    def __init__(self, name: str, folder: Path, env: dict):
        self.name, self.folder, self.env = name, folder, env
        self.vars: Dict[str, str] = {}


def tracked_files() -> List[str]:
    proc = subprocess.run([
        'git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True)
    if proc.returncode == 0 and proc.stdout:
        return [f for f in proc.stdout.split('\0') if f]
    return [
        str(p.relative_to(ROOT)) for p in ROOT.rglob('*')
        if p.is_file() and not any(
            part.startswith('.venv') or part in ('__pycache__', *UNCOPIED)
            for part in p.relative_to(ROOT).parts)
    ]


def make_checkout(folder: Path, bin_dir: Path) -> Path:
    """A fresh clone's view of the repository: copies of its files but the
    package (mmprelu is the one the test's environment imports: the
    editable install, or PYTHONPATH), ``.venv/bin`` the test's interpreter
    and ``tools/setup_env.sh`` a stub (the set-up is the test's
    environment; running the real one would change it)."""
    for rel in tracked_files():
        if rel.split('/')[0] in UNCOPIED or not (ROOT / rel).is_file():
            continue
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, folder / rel)
    (folder / '.venv').mkdir()
    (folder / '.venv' / 'bin').symlink_to(bin_dir)
    (folder / 'tools' / 'setup_env.sh').write_text(
        '#!/usr/bin/env bash\necho "[setup_env] docs test: the set-up is '
        f'the test\'s own environment ({sys.prefix})"\n')
    return folder


def make_bin(bin_dir: Path) -> Path:
    """``python``/``python3`` as on an activated venv: the test's
    interpreter, through tests/docs_zygote.py's shim."""
    from docs_zygote import SHIM
    bin_dir.mkdir()
    for name in ('python', 'python3'):
        (bin_dir / name).write_text(SHIM.format(python=sys.executable))
        (bin_dir / name).chmod(0o755)
    return bin_dir


def start_zygote(env: dict, log: Path):
    """The warm interpreter (tests/docs_zygote.py) for ``env``'s commands,
    unless MMPRELU_DOCS_TEST_FORK=0: (process, socket path) or (None, '');
    what it says goes to ``log``."""
    if os.environ.get('MMPRELU_DOCS_TEST_FORK', '1') == '0':
        return None, ''
    import tempfile
    path = os.path.join(tempfile.mkdtemp(prefix='docs'), 'zygote.sock')
    proc = subprocess.Popen([
        sys.executable,
        str(Path(__file__).with_name('docs_zygote.py')), path
    ],
                            env=env,
                            stdin=subprocess.DEVNULL,
                            stdout=open(log, 'w'),
                            stderr=subprocess.STDOUT,
                            start_new_session=True)
    return proc, path


def user_env(env: dict, bin_dir: Path) -> dict:
    env = dict(env)
    env['PATH'] = os.pathsep.join(
        [str(bin_dir),
         os.path.dirname(sys.executable),
         env.get('PATH', '')])
    env.pop('PYTHON', None)  # a user's shell has no PYTHON: `python`
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


ASSIGNMENT = re.compile(r'([A-Za-z_]\w*)=(\S.*)?')


def assigned_name(command: str) -> str:
    """NAME if the command only assigns a shell variable."""
    match = ASSIGNMENT.fullmatch(command)
    if not match:
        return ''
    quote, depth = '', 0
    for ch in match.group(2) or '':
        if quote:
            quote = '' if ch == quote else quote
        elif ch in '\'"':
            quote = ch
        elif ch == '(':
            depth += 1
        elif ch == ')':
            depth -= 1
        elif ch.isspace() and not depth:
            return ''
    return match.group(1)
