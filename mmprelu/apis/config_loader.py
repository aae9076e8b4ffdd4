"""How mmprelu's tools read a config: ``mmprelu::`` bases and package
look-ups without ``pkg_resources`` (issue 12).

mmengine 0.10.7 resolves a cross-package base (``_base_ = ['pkg::dir/f.py']``
in a text config, ``from pkg.configs.x import *`` in a new-style one) only
for the packages it lists (``mmengine.config.utils.MODULE2PACKAGE``, no
mmprelu), only in the form ``pkg::dir/file.py``, and always through
``pkg_resources``, which setuptools >= 82 no longer ships. Stock tools
(mmpretrain's and mmdet's ``tools/train.py``) parse the config before they
import anything of ours, so nothing can be done for them from here: they
need new-style configs and ``setuptools<82`` (``requirements/runtime.txt``
pins it; docs/downstream.md). Our tools call :func:`load_config`, which
first makes mmengine

* resolve ``mmprelu::<path under configs/>`` to our text config
  (:func:`~.config_names.resolve_config`; an unknown name lists the
  nearest valid ones), in any base of any level;
* find installed packages with :mod:`importlib` instead of
  ``pkg_resources``: the package that ``import`` would load (so also an
  editable install or one on ``PYTHONPATH``), for every cross-package
  base, ``mmpretrain::`` and new-style imports included.

Both are one guarded adapter over mmengine private names
(``Config._get_cfg_path`` and the ``get_installed_path`` /
``is_installed`` that ``mmengine.config.config`` imported); it checks them
first and raises :class:`ConfigAdapterError` naming what changed
(tests/test_apis/test_config_loader.py fails loudly on such an mmengine).

Our choice where mmengine has a rule for other packages: an ``mmprelu::``
base is read like a local file, without mmengine's ``_scope_ = 'mmprelu'``
tag on its top-level dicts. mmprelu has no registry of its own (it
registers into mmpretrain's), so that tag would send every build to a
registry that does not exist (mmengine warns and falls back); our configs
carry their own ``default_scope`` instead.
"""
import importlib.metadata
import importlib.util
import inspect
import os.path as osp
from typing import Optional

from mmengine.config import Config

from .config_names import PREFIX, resolve_config

__all__ = ['ConfigAdapterError', 'enable_package_configs', 'load_config',
           'get_installed_path', 'is_installed']

#: mmengine's Config._get_cfg_path before :func:`enable_package_configs`.
_original_get_cfg_path = None


class ConfigAdapterError(RuntimeError):
    """The installed mmengine lacks a name the adapter replaces."""


def _module_of(package: str) -> Optional[str]:
    """The importable module of ``package``: mmengine passes module names
    (``mmprelu``) and distribution names (``mmsegmentation``)."""
    try:
        if importlib.util.find_spec(package) is not None:
            return package
    except (ImportError, ValueError):
        pass
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None
    top = (dist.read_text('top_level.txt') or '').split()
    return top[0] if top else None


def is_installed(package: str) -> bool:
    """``mmengine.utils.is_installed`` without ``pkg_resources``."""
    return _module_of(package) is not None


def get_installed_path(package: str) -> str:
    """``mmengine.utils.get_installed_path`` without ``pkg_resources``: the
    folder of the package that ``import`` loads."""
    module = _module_of(package)
    spec = importlib.util.find_spec(module) if module else None
    if spec is None:
        raise ModuleNotFoundError(f'package {package!r} is not installed')
    if spec.origin is None:
        raise RuntimeError(f'{package} is a namespace package, which has no '
                           f'single installed path')
    return osp.dirname(spec.origin)


def _mmengine_config_module():
    """``mmengine.config.config``, checked for the names we replace."""
    import mmengine
    import mmengine.config.config as module
    missing = []
    method = getattr(Config, '_get_cfg_path', None)
    try:
        params = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):
        params = None
    if params != ['cfg_path', 'filename']:
        missing.append('Config._get_cfg_path(cfg_path, filename)')
    missing += [f'mmengine.config.config.{name}'
                for name in ('get_installed_path', 'is_installed')
                if not callable(getattr(module, name, None))]
    if missing:
        raise ConfigAdapterError(
            f'mmprelu: mmengine {mmengine.__version__} has no {missing} '
            f'(known: mmengine 0.10.x), so `{PREFIX}` bases cannot be '
            f'resolved. Inherit the new-style configs instead: `with '
            f'read_base(): from mmprelu.configs.<name> import *` '
            f'(docs/downstream.md).')
    return module


def enable_package_configs() -> None:
    """Make mmengine resolve ``mmprelu::`` bases and find packages without
    ``pkg_resources`` (see the module docstring); once per process."""
    global _original_get_cfg_path
    if _original_get_cfg_path is not None:
        return
    module = _mmengine_config_module()
    original = Config._get_cfg_path

    def _get_cfg_path(cfg_path, filename):
        if isinstance(cfg_path, str) and cfg_path.startswith(PREFIX):
            return str(resolve_config(cfg_path)), None
        return original(cfg_path, filename)

    Config._get_cfg_path = staticmethod(_get_cfg_path)
    module.get_installed_path = get_installed_path
    module.is_installed = is_installed
    _original_get_cfg_path = original


def load_config(filename) -> Config:
    """``Config.fromfile`` after :func:`enable_package_configs`."""
    enable_package_configs()
    return Config.fromfile(str(filename))
