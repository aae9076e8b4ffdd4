"""Downstream projects resolve mmprelu modules from their own scopes."""
import subprocess
import sys

import pytest
import torch
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import Registry

import mmprelu
from mmprelu.registry import MODELS, TRANSFORMS

DOWNSTREAM = Registry(
    'model', parent=ROOT_MODELS, scope='my_downstream_project')
TINY = dict(
    channels=(4, 8),
    depths=(1, 1),
    kernel_sizes=(3, 3),
    strides=(1, 1),
    pools=(None, (2, 2)))


@pytest.mark.parametrize('name',
                         ['PReLUNet', 'SpatialPyramidPooling', 'PReLUNetHead'])
def test_registered_in_mmpretrain_and_exported(name):
    assert MODELS.get(name) is getattr(mmprelu, name)
    assert name in mmprelu.__all__


@pytest.mark.parametrize(
    'name',
    ['LoadImageSafely', 'LimitAspectRatio', 'PCALighting', 'PositionalCrop'])
def test_transform_registered(name):
    assert TRANSFORMS.get(name) is getattr(mmprelu, name)


@pytest.mark.parametrize('type_name',
                         ['mmprelu.PReLUNet', 'mmpretrain.PReLUNet'])
def test_downstream_scope_builds_backbone(type_name):
    model = DOWNSTREAM.build(dict(type=type_name, arch=TINY))
    assert isinstance(model, mmprelu.PReLUNet)
    assert model(torch.randn(1, 3, 16, 16))[-1].shape == (1, 8, 8, 8)


def test_fresh_process_resolves_prefixed_name_without_import():
    """A downstream config naming `mmprelu.PReLUNet` works even if nothing
    imported mmprelu beforehand."""
    code = ('from mmengine.registry import MODELS, Registry\n'
            'r = Registry("model", parent=MODELS, scope="downstream")\n'
            f'm = r.build(dict(type="mmprelu.PReLUNet", arch={TINY!r}))\n'
            'print(type(m).__module__)\n')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert 'mmprelu.models.backbones' in out.stdout
