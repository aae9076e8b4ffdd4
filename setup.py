"""Installs mmprelu.

mmcv / mmengine / mmpretrain are deliberately *not* in ``install_requires``:
pip cannot build mmcv with ops from source on most machines, so the
OpenMMLab packages are installed the OpenMMLab way (``mim`` or
``tools/setup_env.sh``) from ``requirements/mminstall.txt``.
"""
import os.path as osp

from setuptools import find_packages, setup

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
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'benchmarks')),
    include_package_data=True,
    python_requires='>=3.8',
    install_requires=read_requirements('runtime'),
    extras_require={
        'tests': read_requirements('tests'),
        'optional': read_requirements('optional'),
        'mim': read_requirements('mminstall'),
    },
    zip_safe=False)
