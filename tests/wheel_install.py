"""Helpers of the downstream tests: mmprelu installed from its
built wheel outside the repository (the ``installed_wheel`` fixture of
tests/conftest.py), as a downstream project has it."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What ``pip wheel`` reads (setup.py, MANIFEST.in): only these are copied.
#: A whitelist, not a skip list: a clone holds venvs (``.venv``,
#: ``.venv-oldest*``, 5-6 GB each), data and work dirs that must never be
#: copied per test.
SOURCE = ('setup.py', 'setup.cfg', 'MANIFEST.in', 'README.md', 'LICENSE',
          'model-index.yml', 'requirements', 'requirements.txt', 'mmprelu',
          'configs', 'tools')
#: Skipped inside the copied folders (build outputs, caches).
SKIP = {'__pycache__', '.mim', '.pytest_cache', 'build', 'dist'}


def copy_source(dst: Path) -> Path:
    """Copy what building the wheel needs into ``dst``."""
    dst.mkdir(parents=True)
    ignore = shutil.ignore_patterns(*SKIP, '*.egg-info', '*.so', '*.py[co]')
    for name in SOURCE:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, dst / name)
    return dst


class Installed:
    """mmprelu installed with ``pip install --no-deps --target site``."""

    def __init__(self, site: Path, wheel: Path = None):
        self.site = site
        self.wheel = wheel
        self.package = site / 'mmprelu'
        self.tools = self.package / '.mim' / 'tools'

    def env(self, hide_pkg_resources=False, **extra) -> dict:
        """Environment of a downstream process: the installed mmprelu first
        on ``PYTHONPATH``, the repository off it (other entries stay: a
        developer's extra paths). ``hide_pkg_resources``: as with
        setuptools >= 82, ``import pkg_resources`` fails."""
        paths = [
            p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep)
            if p and Path(p).resolve() != ROOT
        ]
        paths.insert(0, str(self.site))
        if hide_pkg_resources:
            paths.insert(0, str(self._hider()))
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(paths),
            PYTHON=sys.executable)
        env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + \
            env['PATH']
        env.update(extra)
        return env

    def _hider(self) -> Path:
        folder = self.site.parent / 'no_pkg_resources'
        init = folder / 'pkg_resources' / '__init__.py'
        if not init.is_file():
            init.parent.mkdir(parents=True)
            init.write_text(
                'raise ModuleNotFoundError("No module named \'pkg_resources\' '
                '(hidden by the test)", name="pkg_resources")\n')
        return folder

    def run(self,
            args,
            cwd,
            timeout=300,
            hide_pkg_resources=False,
            **extra_env):
        env = self.env(hide_pkg_resources, **extra_env)
        return subprocess.run([str(a) for a in args],
                              cwd=cwd,
                              env=env,
                              capture_output=True,
                              text=True,
                              timeout=timeout)

    def has_pkg_resources(self, cwd, hide_pkg_resources=False) -> bool:
        proc = self.run([sys.executable, '-c', 'import pkg_resources'],
                        cwd,
                        hide_pkg_resources=hide_pkg_resources)
        return proc.returncode == 0


def doc_files(doc: Path) -> dict:
    """The files a doc gives as ``<!-- file: NAME -->`` + a code block:
    {NAME: text}."""
    return dict(
        re.findall(r'<!-- file: (\S+) -->\s*```\w*\n(.*?)```',
                   doc.read_text(encoding='utf-8'), re.S))


def check_run(proc) -> str:
    """The output of a finished process; fails showing its ends unless it
    exited with 0."""
    assert proc.returncode == 0, (
        f'exit code {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}'
        f'\n--- stderr\n{proc.stderr[-5000:]}')
    return proc.stdout + proc.stderr


#: What a stock tool needs to read a new-style mmprelu config.
PIN_MISSING = ('pkg_resources is missing where mmprelu is installed: the '
               'setuptools<82 pin of requirements/runtime.txt is not in '
               'effect (run tools/setup_env.sh); stock OpenMMLab tools cannot '
               'read cross-package configs without it (docs/downstream.md)')


def install_wheel(tmp: Path) -> Installed:
    """``pip wheel`` of a copy of the source tree (no build isolation:
    offline), installed into ``tmp/site``; checks that a process there
    imports mmprelu from that folder."""
    src, dist = tmp / 'src', tmp / 'dist'
    copy_source(src)
    pip = [sys.executable, '-m', 'pip', '-q']
    subprocess.run(
        pip + [
            'wheel',
            str(src), '--no-deps', '-w',
            str(dist), '--no-build-isolation'
        ],
        check=True,
        timeout=300)
    (wheel, ) = dist.glob('mmprelu-*.whl')
    installed = Installed(tmp / 'site', wheel)
    subprocess.run(
        pip +
        ['install', '--no-deps', '--target',
         str(installed.site),
         str(wheel)],
        check=True,
        timeout=300)
    proc = installed.run(
        [sys.executable, '-c', 'import mmprelu; print(mmprelu.__file__)'], tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert Path(proc.stdout.split()[-1]) == installed.package / '__init__.py'
    return installed
