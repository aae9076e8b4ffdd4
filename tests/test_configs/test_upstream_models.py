"""A config derived from any shipped classification config may switch our
model types to mmpretrain's by a merge, the way mmpretrain's docs teach:
``head=dict(type='StackedLinearClsHead')`` (``PReLUNetHead`` takes its
arguments) and ``type='ImageClassifier'`` (so does ``PReLUNetClassifier``).
The result builds, trains a step and predicts; full-size models are built
and run on the ``meta`` device.
"""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.models import ImageClassifier, StackedLinearClsHead
from mmpretrain.structures import DataSample

from mmprelu.models import PReLUNetClassifier
from mmprelu.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    p for p in (ROOT / 'configs').rglob('*.py')
    if not {'_base_', 'det', 'seg'} & set(p.relative_to(ROOT).parts))
IDS = [str(p.relative_to(ROOT / 'configs')) for p in CONFIGS]
SMALL = 5_000_000  # parameters; larger models stay on the meta device


def derive(tmp_path: Path, base: Path, classifier: bool) -> Config:
    """The config a user writes over ``base`` to get upstream's types."""
    head = dict(type='StackedLinearClsHead')
    act = Config.fromfile(base).model.head.get('act_cfg') or {}
    if act.get('type') == 'PReLU':  # mmcv builds nn.PReLU: no extra keys
        head['act_cfg'] = dict(_delete_=True, type='PReLU')
    model = dict(head=head)
    if classifier:
        model['type'] = 'ImageClassifier'
    path = tmp_path / 'derived.py'
    path.write_text(f'_base_ = [{str(base)!r}]\nmodel = {model!r}\n')
    return Config.fromfile(path)


def test_every_config_uses_our_head_or_an_upstream_one():
    for path in CONFIGS:
        head = Config.fromfile(path).model.get('head')
        if head is None:  # zoo: PReLUConverted wraps an upstream model
            head = Config.fromfile(path).model.model.head
        cls = MODELS.get(head['type'])
        assert cls.__module__.split('.')[0] in ('mmprelu', 'mmpretrain')
        if cls.__module__.startswith('mmprelu'):
            assert issubclass(cls, StackedLinearClsHead), path


@pytest.mark.parametrize(
    'classifier', [False, True], ids=['head', 'head+classifier'])
@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_upstream_types_build_train_and_predict(tmp_path, path, classifier):
    init_default_scope('mmpretrain')
    base = Config.fromfile(path)
    if base.model.type == 'PReLUConverted':
        pytest.skip('zoo: upstream head and classifier already '
                    '(built and trained by test_zoo_configs.py)')
    cfg = derive(tmp_path, path, classifier)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    expected = ImageClassifier if classifier else PReLUNetClassifier
    assert type(model) is expected
    assert type(model.head) is StackedLinearClsHead
    crop = cfg.val_dataloader.dataset.pipeline[-2]['crop_size']
    classes = cfg.model.head.num_classes
    if sum(p.numel() for p in model.parameters()) > SMALL:
        with torch.device('meta'):
            logits = model(torch.empty(1, 3, crop, crop), mode='tensor')
        assert logits.shape == (1, classes)
        return
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, crop, crop), dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=[DataSample().set_gt_label(i) for i in range(2)])
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    losses = model.train_step(data, optim_wrapper)
    assert torch.isfinite(losses['loss'])
    model.eval()
    with torch.no_grad():
        preds = model.val_step(data)
    assert [p.pred_score.shape for p in preds] == [(classes, )] * 2
    assert preds[0].pred_score.sum().item() == pytest.approx(1, abs=1e-5)


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_tta_model_wraps_image_classifier(tmp_path, path):
    """What mmpretrain's stock ``tools/test.py --tta`` builds from a derived
    config with ``type='ImageClassifier'``: the config's ``tta_model``
    (``DenseWindowTTA`` for the dense protocol) around it; small models
    score two views of images of two shapes."""
    init_default_scope('mmpretrain')
    if Config.fromfile(path).model.type == 'PReLUConverted':
        pytest.skip('zoo: no tta_model')
    cfg = derive(tmp_path, path, classifier=True)
    wrapped = dict(cfg.tta_model, module=cfg.model)
    with torch.device('meta'):
        tta = MODELS.build(wrapped)
    assert type(tta.module) is ImageClassifier
    if sum(p.numel() for p in tta.parameters()) > SMALL:
        return
    torch.manual_seed(0)
    tta = MODELS.build(wrapped)
    tta.module.init_weights()
    tta.eval()
    scale = cfg.tta_pipeline[-1].transforms[0][0]['scale']
    shapes = [(3, scale, scale * 5 // 4), (3, scale * 5 // 4, scale)]
    views = [[torch.randint(0, 256, s, dtype=torch.uint8) for s in shapes]
             for _ in range(2)]
    samples = [[DataSample(metainfo=dict(img_shape=s[1:])) for s in shapes]
               for _ in range(2)]
    with torch.no_grad():
        preds = tta.test_step(dict(inputs=views, data_samples=samples))
    classes = cfg.model.head.num_classes
    assert [p.pred_score.shape for p in preds] == [(classes, )] * 2
