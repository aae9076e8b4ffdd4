"""Installs mmprelu.

mmcv / mmengine / mmpretrain are deliberately *not* in ``install_requires``:
pip cannot build mmcv with ops from source on most machines, so the
OpenMMLab packages are installed the OpenMMLab way (``mim`` or
``tools/setup_env.sh``) from ``requirements/mminstall.txt``.

torch is not in ``install_requires`` either, as in OpenMMLab's own
packages: a user's torch (often a CUDA build) must never be replaced by
pip. Its supported range is in ``requirements/torch.txt`` (the ``torch``
extra) and ``mmprelu/compat.py`` checks it at import; the same range is
tabled in docs/environments.md.

The package carries a ``mmprelu/.mim`` folder (``model-index.yml``,
``configs/``, ``tools/``), the layout ``mim`` and mmpretrain's model hub
expect (see mmprelu/apis/model_hub.py): a wheel (``pip install .``) gets
copies, made by :class:`BuildPyWithMim` in the build folder; an install in
develop mode (what tools/setup_env.sh makes, :class:`DevelopWithMim`) or a
PEP 660 editable one gets symlinks in the source tree, so edited configs
are seen at once (copies where symlinks are not allowed).
``mmprelu/.mim`` is in ``.gitignore``.
"""
import os
import os.path as osp
import shutil
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.develop import develop

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    """Return the requirement lines of ``requirements/<name>.txt``."""
    path = osp.join(HERE, 'requirements', f'{name}.txt')
    with open(path, encoding='utf-8') as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


def read_version():
    scope = {}
    with open(osp.join(HERE, 'mmprelu', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


#: What goes into mmprelu/.mim, relative to the repository root.
MIM_FILES = ('model-index.yml', 'configs', 'tools')


def _remove(path):
    if osp.islink(path) or osp.isfile(path):
        os.remove(path)
    elif osp.isdir(path):
        shutil.rmtree(path)


def add_mim_files(mim_dir, link):
    """Fill ``mim_dir`` with :data:`MIM_FILES`: relative symlinks to the
    repository (``link=True``, editable installs) or copies (wheels)."""
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        if not osp.exists(src):
            raise FileNotFoundError(
                f'setup.py: {src} is missing; mmprelu/.mim needs '
                f'{list(MIM_FILES)} (is this a complete source tree?)')
        dst = osp.join(mim_dir, name)
        _remove(dst)
        if link:
            try:
                os.symlink(osp.relpath(src, mim_dir), dst)
                continue
            except OSError:  # no symlinks (e.g. Windows): copy instead
                pass
        if osp.isdir(src):
            shutil.copytree(
                src,
                dst,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


class BuildPyWithMim(build_py):
    """``build_py`` that also writes ``mmprelu/.mim``: copies into the
    build folder for a wheel, links in the source tree when editable."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            add_mim_files(osp.join(HERE, 'mmprelu', '.mim'), link=True)
        else:
            add_mim_files(
                osp.join(self.build_lib, 'mmprelu', '.mim'), link=False)


class DevelopWithMim(develop):
    """``setup.py develop`` (pip's legacy editable install, setuptools < 80)
    that also links ``mmprelu/.mim`` in the source tree."""

    def run(self):
        add_mim_files(osp.join(HERE, 'mmprelu', '.mim'), link=True)
        super().run()


def read_readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


setup(
    name='mmprelu',
    version=read_version(),
    description='PReLU, MSRA initialization and PReLU-nets (He et al. 2015) '
    'for OpenMMLab',
    long_description=read_readme(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(
        exclude=('configs', 'tools', 'tests', 'benchmarks')),
    include_package_data=True,
    python_requires='>=3.9, <3.13',
    install_requires=read_requirements('runtime'),
    extras_require={
        'tests': read_requirements('tests'),
        'optional': read_requirements('optional'),
        'mim': read_requirements('mminstall'),
        'torch': read_requirements('torch'),
    },
    cmdclass={
        'build_py': BuildPyWithMim,
        'develop': DevelopWithMim
    },
    zip_safe=False)
