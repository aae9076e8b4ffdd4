"""Every config in configs/zoo builds (through Config.fromfile + MODELS, and
through the Runner), runs a forward pass and a train step with its own
optim_wrapper."""
import copy
import logging
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmprelu.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
ZOO = sorted((ROOT / 'configs' / 'zoo').glob('*.py'))
# call sites converted / conv layers re-drawn by MSRA, full configs
EXPECTED = {
    'resnet50-prelu_8xb32_in1k.py': (49, 53),
    'vgg16-prelu_8xb32_in1k.py': (15, 13),
}
# VGG's fc layers need 224x224 inputs (138M parameters): the train step
# runs its conv part with a small head instead
SMALL = {
    'vgg16-prelu_8xb32_in1k.py':
    dict(
        backbone=dict(num_classes=-1),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=512)),
}

torch.set_num_threads(1)
MMLogger.get_current_instance().setLevel(logging.WARNING)


@pytest.fixture(params=ZOO, ids=[p.name for p in ZOO])
def cfg(request):
    init_default_scope('mmpretrain')
    return Config.fromfile(request.param)


def model_cfg(cfg, small=False):
    model = copy.deepcopy(cfg.model)
    model.setdefault('data_preprocessor', cfg.data_preprocessor)
    if small and Path(cfg.filename).name in SMALL:
        for key, value in SMALL[Path(cfg.filename).name].items():
            old = model.get(key) or {}
            if value.get('type', old.get('type')) == old.get('type'):
                model[key].update(value)
            else:
                model[key] = value
        model.input_shape = (1, 3, 64, 64)
    return model


def test_zoo_configs_exist():
    assert set(EXPECTED) <= {p.name for p in ZOO}


def test_exact_resume_is_named(cfg):
    from test_paper_configs import check_exact_resume_is_named
    check_exact_resume_is_named(cfg)


def test_full_model_converts(cfg):
    assert cfg.model.type == 'PReLUConverted'
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.optim_wrapper.constructor == 'PReLUOptimWrapperConstructor'
    model = MODELS.build(model_cfg(cfg))
    model.eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 224, 224), mode='tensor')
    assert logits.shape == (1, 1000) and torch.isfinite(logits).all()
    report = model.prelu_report
    assert (report.num_sites, len(report.msra)) == \
        EXPECTED[Path(cfg.filename).name]
    assert not report.problems
    assert set(report.msra.values()) == {cfg.model.init}


def test_forward_and_train_step(cfg):
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(cfg, small=True))
    model.init_weights()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=[DataSample().set_gt_label(i) for i in (3, 7)])
    slopes = [m.weight for m in model.modules() if isinstance(m, nn.PReLU)]
    before = [s.detach().clone() for s in slopes]
    model.train()
    losses = model.train_step(data, wrapper)
    assert torch.isfinite(losses['loss'])
    assert any(not torch.equal(a, s) for a, s in zip(before, slopes))
    decay = {
        id(p): g['weight_decay']
        for g in wrapper.optimizer.param_groups
        for p in g['params']
    }
    assert {decay[id(s)] for s in slopes} == {0}
    model.eval()
    with torch.no_grad():
        out = model.val_step(dict(data, data_samples=None))
    assert len(out) == 2 and out[0].pred_score.shape == (1000, )


def test_runner_builds_the_converted_model(cfg, tmp_path):
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    cfg.model = model_cfg(cfg, small=True)
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    assert runner.model.prelu_report.num_sites > 0
    assert type(runner.model).__name__ == 'ImageClassifier'
