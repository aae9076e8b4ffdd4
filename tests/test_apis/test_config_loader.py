"""The adapter of mmprelu/apis/config_loader.py: ``mmprelu::`` bases, and
its guard over mmengine's private name (fails loudly when mmengine changes
it)."""
import inspect
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from mmprelu.apis import config_loader
from mmprelu.apis.config_loader import (ConfigAdapterError,
                                        enable_package_configs, load_config)

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / 'configs' / 'prelu_net_tiny_1xb64_digits.py'


@pytest.fixture
def adapter(monkeypatch):
    """mmengine as without the adapter (another test of this process may
    have run our tools' main); everything is restored afterwards."""
    original = config_loader._original_get_cfg_path or Config._get_cfg_path
    monkeypatch.setattr(Config, '_get_cfg_path', staticmethod(original))
    monkeypatch.setattr(config_loader, '_original_get_cfg_path', None)
    return monkeypatch


@pytest.fixture
def no_pkg_resources(monkeypatch):
    """As with setuptools >= 82: ``import pkg_resources`` fails."""
    monkeypatch.setitem(sys.modules, 'pkg_resources', None)
    with pytest.raises(ImportError):
        import pkg_resources  # noqa: F401


def test_mmengine_has_the_name_the_adapter_replaces():
    """If this fails, mmengine changed a private name we rely on: update
    mmprelu/apis/config_loader.py (and its docs)."""
    assert list(inspect.signature(
        Config._get_cfg_path).parameters) == ['cfg_path', 'filename']
    assert config_loader._checked_get_cfg_path() is Config._get_cfg_path


def test_changed_mmengine_is_a_clear_error(adapter):
    adapter.delattr(Config, '_get_cfg_path')
    with pytest.raises(
            ConfigAdapterError, match=r'Config\._get_cfg_path.*read_base'):
        enable_package_configs()


def test_enable_is_idempotent(adapter):
    enable_package_configs()
    patched = Config._get_cfg_path
    enable_package_configs()
    assert Config._get_cfg_path is patched


def _write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def test_stock_mmengine_refuses_our_names(adapter, tmp_path):
    """Why the adapter exists; if this fails, mmengine reads ``mmprelu::``
    itself and the adapter can go."""
    path = _write(
        tmp_path, 'mine.py', "_base_ = ['mmprelu::zoo/resnet50-"
        "prelu_8xb32_in1k.py']\n")
    with pytest.raises(AssertionError, match='does not support to load'):
        Config.fromfile(path)
    path = _write(tmp_path, 'top.py', "_base_ = ['mmprelu::prelu_net_tiny_"
                  "1xb64_digits.py']\n")
    with pytest.raises(ValueError, match='relative config path'):
        Config.fromfile(path)  # a name outside a folder, for any package


def test_text_base_without_pkg_resources(adapter, no_pkg_resources, tmp_path):
    """Two levels of downstream configs over ``mmprelu::`` (which needs no
    pkg_resources); the base is read as a local file (no ``_scope_`` tag,
    our choice)."""
    _write(
        tmp_path, 'mine.py', "_base_ = ['mmprelu::prelu_net_tiny_1xb64_"
        "digits.py']\nmodel = dict(head=dict(num_classes=3))\n")
    path = _write(
        tmp_path, 'mine_longer.py', "_base_ = ['./mine.py']\n"
        "train_cfg = dict(max_epochs=2)\n")
    cfg = load_config(path)
    reference = Config.fromfile(TINY)
    assert cfg.model.head.num_classes == 3
    assert cfg.train_cfg.max_epochs == 2
    cfg.model.head.num_classes = reference.model.head.num_classes
    cfg.train_cfg.max_epochs = reference.train_cfg.max_epochs
    assert cfg.to_dict() == reference.to_dict()
    assert '_scope_' not in cfg.model


def test_other_packages_bases_are_mmengines(adapter, tmp_path):
    """An ``mmprelu::`` base whose own bases come from mmpretrain (the zoo
    configs), and an ``mmpretrain::`` base, as mmengine reads them."""
    path = _write(
        tmp_path, 'mine.py', "_base_ = ['mmprelu::zoo/resnet50-"
        "prelu_8xb32_in1k.py']\n")
    cfg = load_config(path)
    assert cfg.model.type == 'PReLUConverted'
    assert cfg.model.backbone.depth == 50
    assert cfg.optim_wrapper.optimizer._scope_ == 'mmpretrain'
    path = _write(tmp_path, 'other.py', "_base_ = ['mmpretrain::_base_/"
                  "models/resnet18.py']\n")
    assert load_config(path).model.backbone.depth == 18
