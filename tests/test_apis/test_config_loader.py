"""The adapter of mmprelu/apis/config_loader.py: ``mmprelu::`` bases and
package look-ups without pkg_resources, and its guard over mmengine's
private names (fails loudly when mmengine changes them)."""
import inspect
import os.path as osp
import sys
from pathlib import Path

import cv2
import mmengine.config.config as mm_config
import mmengine.utils.package_utils as package_utils
import mmpretrain
import pytest
from mmengine.config import Config

from mmprelu.apis import config_loader
from mmprelu.apis.config_loader import (ConfigAdapterError,
                                        enable_package_configs,
                                        get_installed_path, is_installed,
                                        load_config)

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / 'configs' / 'prelu_net_tiny_1xb64_digits.py'


@pytest.fixture
def adapter(monkeypatch):
    """mmengine as without the adapter (another test of this process may
    have run our tools' main); everything is restored afterwards."""
    original = config_loader._original_get_cfg_path or Config._get_cfg_path
    monkeypatch.setattr(Config, '_get_cfg_path', staticmethod(original))
    for name in ('get_installed_path', 'is_installed'):
        monkeypatch.setattr(mm_config, name, getattr(package_utils, name))
    monkeypatch.setattr(config_loader, '_original_get_cfg_path', None)
    return monkeypatch


@pytest.fixture
def no_pkg_resources(monkeypatch):
    """As with setuptools >= 82: ``import pkg_resources`` fails."""
    monkeypatch.setitem(sys.modules, 'pkg_resources', None)
    with pytest.raises(ImportError):
        import pkg_resources  # noqa: F401


def test_mmengine_has_the_names_the_adapter_replaces():
    """If this fails, mmengine changed a private name we rely on: update
    mmprelu/apis/config_loader.py (and its docs)."""
    assert list(inspect.signature(Config._get_cfg_path).parameters) == [
        'cfg_path', 'filename']
    assert callable(mm_config.get_installed_path)
    assert callable(mm_config.is_installed)
    assert config_loader._mmengine_config_module() is mm_config


def test_changed_mmengine_is_a_clear_error(adapter):
    assert mm_config.get_installed_path is package_utils.get_installed_path
    adapter.delattr(Config, '_get_cfg_path')
    with pytest.raises(ConfigAdapterError,
                       match=r'Config\._get_cfg_path.*read_base'):
        enable_package_configs()


def test_enable_is_idempotent(adapter):
    enable_package_configs()
    patched = Config._get_cfg_path
    enable_package_configs()
    assert Config._get_cfg_path is patched
    assert mm_config.get_installed_path is get_installed_path


def _write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def test_text_base_without_pkg_resources(adapter, no_pkg_resources,
                                         tmp_path):
    """Two levels of downstream configs over ``mmprelu::``; the base is
    read as a local file (no ``_scope_`` tag, our choice)."""
    _write(tmp_path, 'mine.py', "_base_ = ['mmprelu::prelu_net_tiny_1xb64_"
           "digits.py']\nmodel = dict(head=dict(num_classes=3))\n")
    path = _write(tmp_path, 'mine_longer.py', "_base_ = ['./mine.py']\n"
                  "train_cfg = dict(max_epochs=2)\n")
    cfg = load_config(path)
    reference = Config.fromfile(TINY)
    assert cfg.model.head.num_classes == 3
    assert cfg.train_cfg.max_epochs == 2
    cfg.model.head.num_classes = reference.model.head.num_classes
    cfg.train_cfg.max_epochs = reference.train_cfg.max_epochs
    assert cfg.to_dict() == reference.to_dict()
    assert '_scope_' not in cfg.model


def test_new_style_import_without_pkg_resources(adapter, no_pkg_resources,
                                                tmp_path):
    path = _write(tmp_path, 'mine.py', (
        'from mmengine.config import read_base\n\nwith read_base():\n'
        '    from mmprelu.configs.prelu_net_tiny_1xb64_digits import *\n\n'
        'model.head.num_classes = 3\n'))
    with pytest.raises(ImportError):  # what stock tools get
        Config.fromfile(path)
    cfg = load_config(path)
    assert cfg.model.head.num_classes == 3
    cfg.model.head.num_classes = 10
    assert cfg.to_dict() == Config.fromfile(TINY).to_dict()


def test_mmpretrain_base_without_pkg_resources(adapter, no_pkg_resources,
                                               tmp_path):
    """Every cross-package base, not only ours."""
    path = _write(tmp_path, 'mine.py', "_base_ = ['mmpretrain::_base_/"
                  "models/resnet18.py']\n")
    assert load_config(path).model.backbone.depth == 18


def test_package_lookups():
    assert is_installed('mmpretrain')
    assert get_installed_path('mmpretrain') == osp.dirname(
        mmpretrain.__file__)
    # a distribution name that is not its module name, as mmengine passes
    assert is_installed('opencv-python')
    assert get_installed_path('opencv-python') == osp.dirname(cv2.__file__)
    assert not is_installed('mmsegmentation_not_installed')
    with pytest.raises(ModuleNotFoundError, match='not installed'):
        get_installed_path('mmsegmentation_not_installed')
