from pathlib import Path

import pytest

from mmprelu.apis.config_names import (PREFIX, ConfigNameError, config_names,
                                       config_root, module_name,
                                       resolve_config)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize('path,module', [
    ('prelu_net_c_8xb16.py', 'mmprelu.configs.prelu_net_c_8xb16'),
    ('det/faster-rcnn_prelu-net-a_fpn_1x_coco.py',
     'mmprelu.configs.det.faster_rcnn_prelu_net_a_fpn_1x_coco'),
    ('_base_/models/prelu_net_a.py', 'mmprelu.configs._base_.models.'
     'prelu_net_a'),
    ('zoo/resnet50-prelu_8xb32_in1k.py',
     'mmprelu.configs.zoo.resnet50_prelu_8xb32_in1k'),
])
def test_module_name_follows_the_issue_rule(path, module):
    assert module_name(path) == module


@pytest.mark.parametrize(
    'path', ['8xb16_c.py', 'det/for.py', 'a.b/c.py', 'prelu_net_c'])
def test_module_name_refuses_non_python_names(path):
    with pytest.raises(ValueError, match='rename the file'):
        module_name(path)


def test_every_config_has_a_module_name():
    names = config_names(ROOT / 'configs')
    assert 'prelu_net_c_8xb16.py' in names
    assert 'det/faster-rcnn_prelu-net-a_fpn_1x_coco.py' in names
    modules = [module_name(n) for n in names]
    assert len(set(modules)) == len(modules)


def test_config_root_of_a_checkout():
    """No .mim folder here (the repository is on the path): configs/."""
    assert config_root().resolve() in {
        (ROOT / 'configs').resolve(),
        (ROOT / 'mmprelu/.mim/configs').resolve()
    }


@pytest.mark.parametrize('name', [
    'prelu_net_c_8xb16.py', PREFIX + 'prelu_net_c_8xb16.py',
    'det/faster-rcnn_prelu-net-a_fpn_1x_coco.py'
])
def test_resolve_config(name):
    path = resolve_config(name, ROOT / 'configs')
    assert path == ROOT / 'configs' / name.replace(PREFIX, '')


@pytest.mark.parametrize(
    'name,nearest',
    [
        ('prelu_net_c_8xb61.py', 'mmprelu::prelu_net_c_8xb16.py'),
        ('prelu_net_c_8xb16', 'mmprelu::prelu_net_c_8xb16.py'),  # no .py
        ('det/faster_rcnn_prelu-net-a_fpn_1x_coco.py',
         'mmprelu::det/faster-rcnn_prelu-net-a_fpn_1x_coco.py'),
        (
            'detection/retinanet_prelu-net-c_fpn_1x_coco.py',  # wrong folder
            'mmprelu::det/retinanet_prelu-net-c_fpn_1x_coco.py'),
        ('../setup.py', None),  # exists, but outside configs/
        ('qqqqqqqqqqqq.py', 'valid names'),
    ])
def test_unknown_names_list_the_nearest(name, nearest):
    with pytest.raises(ConfigNameError) as info:
        resolve_config(PREFIX + name, ROOT / 'configs')
    message = str(info.value)
    assert f'{PREFIX}{name}: no such mmprelu config' in message
    if nearest == 'valid names':
        assert 'valid names are the files under' in message
    elif nearest:
        assert f'nearest: {nearest}' in message
    assert isinstance(info.value, FileNotFoundError)
