"""mmprelu/configs (new style) against configs/ (text, the source): the
committed files are what the generator makes of today's configs, and for
every config both forms load to the same dict (model, pipelines, schedule,
hooks, everything) and build the same model."""
import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmprelu.apis.config_names import config_names, module_name

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'misc' / 'generate_package_configs.py'
NAMES = config_names(ROOT / 'configs')


def new_style_file(rel: str) -> Path:
    return ROOT.joinpath(*module_name(rel).split('.')).with_suffix('.py')


def test_generated_configs_are_up_to_date():
    pytest.importorskip(
        'mmdet',
        reason='the mmdet:: bases of the det '
        'configs are generated from the installed mmdet')
    spec = importlib.util.spec_from_file_location('generate', SCRIPT)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    stale = gen.stale(gen.generate())
    assert not stale, (
        f'mmprelu/configs differs from what configs/ gives ({stale}): run '
        f'`python tools/misc/generate_package_configs.py` and commit '
        f'mmprelu/configs')


def test_the_issue_names_exist():
    for name in ('prelu_net_c_8xb16',
                 'det/faster_rcnn_prelu_net_a_fpn_1x_coco',
                 'prelu_net_tiny_1xb64_digits', 'zoo/vgg16_prelu_8xb32_in1k'):
        assert (ROOT / 'mmprelu/configs' / f'{name}.py').is_file(), name


def _signature(model):
    return repr(model), [(n, tuple(p.shape))
                         for n, p in model.named_parameters()]


def _build(registry, model, scope):
    """On the meta device (full-size nets); mmpretrain's ResNet calls
    ``.item()`` while it is built, so that one is built on the CPU. torch
    refuses ``.item()`` on meta with ``RuntimeError: ... cannot be called on
    meta tensors`` (2.14) or ``NotImplementedError`` (a RuntimeError) ``...
    aten::_local_scalar_dense ... from the 'Meta' backend`` (2.1)."""
    with DefaultScope.overwrite_default_scope(scope):
        try:
            with torch.device('meta'):
                return registry.build(model)
        except RuntimeError as err:
            if 'meta' not in str(err).lower():
                raise
            return registry.build(model)


@pytest.mark.parametrize('rel', NAMES)
def test_both_forms_are_the_same_config(rel):
    scope = {
        'det': 'mmdet',
        'seg': 'mmseg'
    }.get(rel.split('/')[0], 'mmpretrain')
    if scope == 'mmdet':
        pytest.importorskip(
            'mmdet',
            reason='the det configs inherit mmdet:: '
            'bases: mmdet is not installed')
    text = Config.fromfile(ROOT / 'configs' / rel)
    new = Config.fromfile(new_style_file(rel))
    assert new.to_dict() == text.to_dict()
    if 'model' not in text:
        return  # a dataset/schedule/runtime base
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    elif scope == 'mmseg':
        pytest.importorskip(
            'mmseg',
            reason='mmseg is not installed: the '
            'segmentors are compared as dicts only')
        from mmseg.registry import MODELS
    else:
        from mmprelu.registry import MODELS
    built = []
    for cfg in (text, new):
        model = dict(cfg.model)
        if cfg.get('data_preprocessor') and 'data_preprocessor' not in model:
            model['data_preprocessor'] = cfg.data_preprocessor
        built.append(_signature(_build(MODELS, model, scope)))
    assert built[0] == built[1]
    assert built[0][1]  # parameters were built
