"""How mmprelu's tools read a config: ``mmprelu::`` bases.

mmengine 0.10.7 resolves a cross-package text base
(``_base_ = ['pkg::dir/f.py']``) only for the packages it lists
(``mmengine.config.utils.MODULE2PACKAGE``, no mmprelu) and only in the form
``pkg::dir/file.py``. Stock tools (mmpretrain's and mmdet's
``tools/train.py``) parse the config before they import anything of ours,
so they read our new-style configs (``from mmprelu.configs.<name> import
*``, docs/downstream.md). Our tools call :func:`load_config`, which first
makes mmengine resolve ``mmprelu::<path under configs/>`` to our text config
(:func:`~.config_names.resolve_config`; an unknown name lists the nearest
valid ones), in any base of any level. Everything else (``mmpretrain::`` /
``mmdet::`` bases, ``mmprelu.configs`` imports) mmengine resolves itself,
through ``pkg_resources`` (``setuptools<82``, requirements/runtime.txt).

This is one guarded adapter over mmengine's private
``Config._get_cfg_path``: it checks the signature first and raises
:class:`ConfigAdapterError` naming what changed
(tests/test_apis/test_config_loader.py fails loudly on such an mmengine).

Our choice where mmengine has a rule for other packages: an ``mmprelu::``
base is read like a local file, without mmengine's ``_scope_ = 'mmprelu'``
tag on its top-level dicts. mmprelu has no registry of its own (it
registers into mmpretrain's), so that tag would send every build to a
registry that does not exist (mmengine warns and falls back); our configs
carry their own ``default_scope`` instead.
"""
import inspect

from mmengine.config import Config

from .config_names import PREFIX, resolve_config

__all__ = ['ConfigAdapterError', 'enable_package_configs', 'load_config']

#: mmengine's Config._get_cfg_path before :func:`enable_package_configs`.
_original_get_cfg_path = None


class ConfigAdapterError(RuntimeError):
    """The installed mmengine lacks the name the adapter replaces."""


def _checked_get_cfg_path():
    """mmengine's ``Config._get_cfg_path``, checked for the signature the
    adapter wraps."""
    method = getattr(Config, '_get_cfg_path', None)
    try:
        params = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):
        params = None
    if params != ['cfg_path', 'filename']:
        import mmengine
        raise ConfigAdapterError(
            f'mmprelu: mmengine {mmengine.__version__} has no '
            f'Config._get_cfg_path(cfg_path, filename) (known: mmengine '
            f'0.10.x), so `{PREFIX}` bases cannot be resolved. Inherit the '
            f'new-style configs instead: `with read_base(): from '
            f'mmprelu.configs.<name> import *` (docs/downstream.md).')
    return method


def enable_package_configs() -> None:
    """Make mmengine resolve ``mmprelu::`` bases (see the module
    docstring); once per process."""
    global _original_get_cfg_path
    if _original_get_cfg_path is not None:
        return
    original = _checked_get_cfg_path()

    def _get_cfg_path(cfg_path, filename):
        if isinstance(cfg_path, str) and cfg_path.startswith(PREFIX):
            return str(resolve_config(cfg_path)), None
        return original(cfg_path, filename)

    Config._get_cfg_path = staticmethod(_get_cfg_path)
    _original_get_cfg_path = original


def load_config(filename) -> Config:
    """``Config.fromfile`` after :func:`enable_package_configs`."""
    enable_package_configs()
    return Config.fromfile(str(filename))
