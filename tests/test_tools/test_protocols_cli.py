"""The paper's test protocols (§5.1) selected from the command line, on
the digits data with the tiny model of conftest's run."""
import math
import re

import pytest
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmprelu.apis.protocols import apply_test_protocol
from mmprelu.models import PReLUNetClassifier
from tool_runner import CONFIG, check, python

FEW = ['test_dataloader.dataset.indices=12']


def num_views(cfg) -> int:
    """Views per image of the config's ``tta_pipeline`` (its final
    ``TestTimeAug``: the product of its option counts)."""
    return math.prod(map(len, cfg.tta_pipeline[-1]['transforms']))


def accuracy(out):
    values = re.findall(r'accuracy/top1: ([0-9.]+)', out)
    assert values, out[-2000:]
    return float(values[-1])


@pytest.mark.parametrize(
    'args',
    [
        ['--protocol', 'center'],
        ['--protocol', 'ten-view'],
        ['--protocol', 'whole', '--scales', '64', '96'],
        ['--protocol', 'dense', '--scales', '64', '--no-flip'],
        ['--protocol', 'dense'],  # multi-scale dense with flips (Table 4)
        [
            '--protocol', 'dense', '--scales', '96', '--window', '7',
            '--stride', '2'
        ],
    ],
    ids=lambda a: ' '.join(a[1:]))
def test_protocol_from_command_line(trained, options, tmp_path, args):
    ckpt = trained[0] / 'epoch_1.pth'
    out = check(
        python('test.py', CONFIG, ckpt, '--work-dir', tmp_path, *args,
               *options, *FEW))
    assert 0.0 <= accuracy(out) <= 100.0


@pytest.mark.parametrize(
    'protocol,kwargs,views',
    [
        ('center', {}, 1),
        ('ten-view', {}, 10),
        ('dense', dict(scales=(64, ), flip=False), 1),
        ('dense', {}, 3),  # scales 64, 72, 80 of the digits config, no flips
    ])
def test_forward_views_per_image(trained, options, tmp_path, monkeypatch,
                                 protocol, kwargs, views):
    """Every image is seen by the model exactly `views` times."""
    cfg = Config.fromfile(CONFIG)
    for item in options[1:] + FEW:
        key, value = item.split('=', 1)
        cfg.merge_from_dict({key: DictAction._parse_iterable(value)})
    apply_test_protocol(cfg, protocol, **kwargs)
    assert num_views(cfg) == views
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    cfg.load_from = str(trained[0] / 'epoch_1.pth')
    cfg.work_dir = str(tmp_path)
    seen = []
    original = PReLUNetClassifier.extract_feat

    def counting(self, inputs, **kw):  # the trunk, whole-image or dense
        seen.append(len(inputs))
        return original(self, inputs, **kw)

    monkeypatch.setattr(PReLUNetClassifier, 'extract_feat', counting)
    metrics = Runner.from_cfg(cfg).test()
    assert sum(seen) == 12 * views
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
