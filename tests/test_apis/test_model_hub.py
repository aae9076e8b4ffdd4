"""mmprelu's models in mmpretrain's model hub (mmprelu/apis/model_hub.py):
names, configs, a real get_model + inference_model, the lazy wrappers, and
the .mim folder of an installed wheel. (That ``import mmprelu`` alone
registers nothing is checked in tests/test_import.py.)"""
import sys
import zipfile
from pathlib import Path

import mmpretrain
import numpy as np
import pytest
import torch
import yaml
from mmpretrain.apis.utils import init_empty_weights
from mmpretrain.models import ImageClassifier

import mmprelu
from mmprelu.apis import model_hub
from mmprelu.apis.model_hub import (ModelHubError, find_model_index,
                                    register_models)
from mmprelu.models import PReLU, PReLUNetClassifier

ROOT = Path(__file__).resolve().parents[2]
METAFILE = yaml.safe_load((ROOT / 'configs' / 'metafile.yml').read_text())
MODELS = {m['Name']: m for m in METAFILE['Models']}
TINY = 'prelu-net-tiny_1xb64_digits'
ARCHS = {
    'prelu-net-a_8xb16_in1k': 'A',
    'prelu-net-b_8xb16_in1k': 'B',
    'prelu-net-c_8xb16_in1k': 'C',
    'relu-net-a_8xb16_in1k': 'A',
    'prelu-net-14_8xb16_in1k': '14',
    'relu-net-14_8xb16_in1k': '14',
    'prelu-net-14-shared_8xb16_in1k': '14'
}


@pytest.fixture(scope='module', autouse=True)
def registered():
    """The one documented line: mmpretrain's own APIs then know our names.
    """
    return register_models()


def test_list_models_finds_ours():
    assert set(mmpretrain.list_models('prelu')) == {
        n
        for n in MODELS if n.startswith('prelu')
    }
    assert set(MODELS) <= set(mmpretrain.list_models('*relu'))
    assert {'resnet50-prelu_8xb32_in1k', 'vgg16-prelu_8xb32_in1k'
            } <= set(mmpretrain.list_models('*-prelu'))
    assert 'prelu-net-c_8xb16_in1k' in mmpretrain.list_models('prelu-net-c')


def test_register_is_idempotent():
    assert set(register_models()) == set(MODELS)
    assert register_models() == register_models()


@pytest.mark.parametrize('name', sorted(MODELS))
def test_get_model_builds_the_indexed_config(name):
    # parameters on the meta device: even model C costs no memory; checks
    # type, arch, config file and the metafile's parameter count
    with init_empty_weights(include_buffers=True):
        model = mmpretrain.get_model(name)
    zoo = MODELS[name]['Config'].startswith('configs/zoo/')
    assert isinstance(model, ImageClassifier)
    assert isinstance(model, PReLUNetClassifier) != zoo
    assert any(isinstance(m, PReLU)
               for m in model.modules()) == (not name.startswith('relu'))
    cfg_file = Path(model._config.filename).resolve()
    assert cfg_file == (ROOT / MODELS[name]['Config']).resolve()
    if name in ARCHS:
        assert str(model._config.model.backbone.arch).upper() == ARCHS[name]
    params = sum(p.numel() for p in model.parameters())
    assert params == MODELS[name]['Metadata']['Parameters']


def test_get_model_and_inference_model_end_to_end(tmp_path):
    torch.manual_seed(0)
    model = mmpretrain.get_model(TINY)
    assert model.head.fc.fc.out_features == 10
    img = np.random.RandomState(0).randint(0, 256, (64, 80, 3), np.uint8)
    result = mmpretrain.inference_model(model, img)
    assert 0 <= result['pred_label'] < 10
    assert abs(sum(result['pred_scores']) - 1) < 1e-4
    # by name, from an image file
    path = tmp_path / 'digit.png'
    import cv2
    cv2.imwrite(str(path), img)
    by_name = mmpretrain.inference_model(TINY, str(path))
    assert len(by_name['pred_scores']) == 10


def test_inference_task_is_declared_without_metrics():
    for model in METAFILE['Models']:
        assert 'Weights' not in model
        (result, ) = model['Results']
        assert result['Task'] == 'Image Classification'
        assert result['Metrics'] == {}


def test_find_model_index_in_checkout_and_errors(tmp_path):
    index, prefix = find_model_index()
    assert index.name == 'model-index.yml'
    assert (prefix / 'configs' / '_base_').is_dir()
    with pytest.raises(ModelHubError, match='no model index found'):
        find_model_index(tmp_path / 'mmprelu')


def test_wrappers_register_and_call_mmpretrain(tmp_path):
    assert mmprelu.list_models('prelu') == mmpretrain.list_models('prelu')
    assert mmprelu.apis.list_models('prelu-net-c') == [
        'prelu-net-c_8xb16_in1k'
    ]
    with init_empty_weights(include_buffers=True):
        model = mmprelu.get_model('prelu-net-a_8xb16_in1k')
    assert str(model._config.model.backbone.arch).upper() == 'A'
    path = tmp_path / 'digit.png'
    import cv2
    cv2.imwrite(str(path), np.zeros((56, 56, 3), np.uint8))
    result = mmprelu.inference_model(TINY, str(path))
    assert len(result['pred_scores']) == 10


@pytest.mark.parametrize('call', [
    register_models, lambda: model_hub.get_model(TINY),
    lambda: model_hub.list_models('prelu'),
    lambda: model_hub.inference_model(TINY, 'x.png')
])
def test_changed_hub_api_gives_a_clear_error(monkeypatch, call):
    import mmpretrain.apis as mm_apis
    monkeypatch.setattr(model_hub, '_registered', None)
    monkeypatch.setattr(mm_apis, 'ModelHub', type('ModelHub', (), {}))
    with pytest.raises(ModelHubError, match='register_model_index'):
        call()


def test_name_taken_by_another_package(monkeypatch, tmp_path):
    """mmpretrain's hub refuses a name another package registered first;
    the error names the name and both files."""
    import mmpretrain.apis as mm_apis

    class Hub(mm_apis.ModelHub):  # a hub of its own, not the process's
        _models_dict = {}

    other = tmp_path / 'model-index.yml'
    other.write_text(f'Models:\n  - Name: {TINY}\n    Config: other.py\n')
    Hub.register_model_index(other)
    monkeypatch.setattr(model_hub, '_registered', None)
    monkeypatch.setattr(mm_apis, 'ModelHub', Hub)
    with pytest.raises(ModelHubError, match='could not register') as err:
        register_models()
    assert TINY in str(err.value) and str(other) in str(err.value)


def test_wheel_ships_mim_folder(installed_wheel, tmp_path):
    """The wheel (tests/wheel_install.py: ``pip wheel``, no build isolation:
    offline) packs model-index.yml and the configs; installed from it,
    mmprelu registers from its .mim."""
    target = installed_wheel.site
    names = set(zipfile.ZipFile(installed_wheel.wheel).namelist())
    for name in ('model-index.yml', 'configs/metafile.yml',
                 'configs/prelu_net_c_8xb16.py',
                 'configs/_base_/default_runtime.py', 'tools/train.py'):
        assert f'mmprelu/.mim/{name}' in names, name
    # nothing of a developer's clone (venvs, data, work dirs) is packed
    assert not [
        n for n in names
        if n.split('/')[0] not in ('mmprelu', ) and '.dist-info/' not in n
    ], names
    code = ('import mmprelu, mmpretrain; from mmprelu.apis import '
            'find_model_index, register_models; register_models(); '
            'print(mmprelu.__file__); print(find_model_index()[1]); '
            f'print(mmpretrain.get_model("{TINY}")._config.filename)')
    out = installed_wheel.run([sys.executable, '-c', code], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    pkg_file, prefix, config = out.stdout.split()[-3:]
    mim = target / 'mmprelu' / '.mim'
    assert Path(pkg_file).parent == target / 'mmprelu'
    assert Path(prefix) == mim
    assert Path(config) == mim / 'configs' / 'prelu_net_tiny_1xb64_digits.py'
