"""Evaluation of real photographs of mixed sizes and orientations:
tools/test.py (every protocol, 1 and 2 processes) and mmpretrain's stock
tools/test.py at the paper configs' batch size 16 give every image the
scores it gets at batch size 1. The tiny PReLU-net of
configs/prelu_net_tiny_photos.py (in this folder) with random weights on
the 13 val photographs of the ``photos`` fixture (tests/conftest.py).
Single-process runs call tools/test.py's ``main`` in this process (the
same code as the command line, without 5 s of imports per run); the stock
tool and the 2-process run are subprocesses."""
import importlib.util
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmprelu.registry import MODELS
from tool_runner import ROOT, check, free_port, run

CFG = ROOT / 'tests' / 'test_tools' / 'configs' / 'prelu_net_tiny_photos.py'
STOCK_TEST = (
    Path(__import__('mmpretrain').__file__).parent / '.mim' / 'tools' /
    'test.py')
ATOL = 1e-5
NUM_VAL = 13
_spec = importlib.util.spec_from_file_location('mmprelu_test_tool',
                                               ROOT / 'tools' / 'test.py')
test_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(test_tool)


def run_test_tool(argv):
    """tools/test.py in this process; returns its metrics."""
    return test_tool.main([str(a) for a in argv])


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """Random weights, the last fc layer scaled so that the logits of
    random images have std 3: the scores differ clearly between images,
    neither all ~1/13 nor all saturated at one class."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CFG).model)
    model.init_weights()
    model.eval()
    images = [
        torch.randint(0, 256, (3, 64, 80), dtype=torch.uint8) for _ in range(4)
    ]
    inputs = model.data_preprocessor({'inputs': images}, False)['inputs']
    with torch.no_grad():
        scale = 3 / model(inputs, mode='tensor').std()
        model.head.fc.fc.weight.mul_(scale)
        model.head.fc.fc.bias.mul_(scale)
    path = tmp_path_factory.mktemp('photos_ckpt') / 'random.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def options(photos, batch_size):
    return [
        '--cfg-options', f'test_dataloader.dataset.data_root={photos}',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        f'test_dataloader.batch_size={batch_size}'
    ]


def tool_args(checkpoint, photos, tmp_path, batch_size, args, name):
    out = tmp_path / f'{name}.pkl'
    return [
        CFG, checkpoint, '--work-dir', tmp_path / name, '--out', out, *args,
        *options(photos, batch_size)
    ], out


def scores(path):
    """``{img_path: (pred_score, img_shape)}`` of a dumped result file."""
    with open(path, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == NUM_VAL
    return {
        r['img_path']: (np.asarray(r['pred_score']), r['img_shape'])
        for r in results
    }


def assert_same_scores(batched, single):
    assert batched.keys() == single.keys()
    for path, (score, _) in batched.items():
        diff = np.abs(score - single[path][0]).max()
        assert diff <= ATOL, (path, diff)
    # the scores are informative: images do not all get the same scores
    # (peaks may saturate at 1 under random weights, on different classes)
    stacked = np.stack([s for s, _ in batched.values()])
    assert np.abs(stacked - stacked.mean(0)).max() > 0.05


@pytest.fixture(scope='module')
def tta_single(checkpoint, photos, tmp_path_factory):
    """Batch size 1 with the config's --tta (shorter side 64 and 88, each
    flipped): the reference."""
    tmp = tmp_path_factory.mktemp('single')
    argv, out = tool_args(checkpoint, photos, tmp, 1, ['--tta'], 'single')
    run_test_tool(argv)
    return scores(out)


@pytest.mark.parametrize(
    'args', [
        ['--tta'],
        ['--protocol', 'whole'],
        ['--protocol', 'dense'],
        ['--protocol', 'ten-view'],
        ['--protocol', 'center'],
    ],
    ids=lambda a: ' '.join(a).lstrip('-'))
def test_batch_of_16_equals_batch_of_1(checkpoint, photos, tmp_path, args,
                                       tta_single):
    batched_argv, batched_out = tool_args(checkpoint, photos, tmp_path, 16,
                                          args, 'batched')
    metrics = run_test_tool(batched_argv)
    assert 0 <= metrics['accuracy/top1'] <= 100
    batched = scores(batched_out)
    if args == ['--tta']:
        single = tta_single
    else:
        single_argv, single_out = tool_args(checkpoint, photos, tmp_path, 1,
                                            args, 'single')
        run_test_tool(single_argv)
        single = scores(single_out)
    assert_same_scores(batched, single)


def test_whole_image_views_have_mixed_shapes(tta_single):
    """What made default_collate crash: the 13 whole images (the shapes of
    the first view, shorter side 64, which AverageClsScoreTTA keeps) have
    many shapes, both orientations."""
    shapes = {tuple(shape) for _, shape in tta_single.values()}
    assert len(shapes) >= 8
    assert any(h > w for h, w in shapes) and any(h < w for h, w in shapes)
    assert all(min(shape) == 64 for shape in shapes)


def test_stock_mmpretrain_tool(checkpoint, photos, tmp_path, tta_single):
    """mmpretrain's own tools/test.py --tta keeps the configs'
    pseudo_collate."""
    argv, out = tool_args(checkpoint, photos, tmp_path, 16, ['--tta'], 'stock')
    check(run([sys.executable, str(STOCK_TEST), *map(str, argv)]))
    assert_same_scores(scores(out), tta_single)


def test_two_processes(checkpoint, photos, tmp_path, tta_single):
    """tools/dist_test.sh, 2 CPU processes (gloo), batch 16 per process."""
    argv, out = tool_args(checkpoint, photos, tmp_path, 16, ['--tta'], 'dist')
    check(
        run([
            'bash', 'tools/dist_test.sh',
            str(argv[0]),
            str(argv[1]), '2', *map(str, argv[2:])
        ],
            env=dict(PORT=str(free_port()))))
    assert_same_scores(scores(out), tta_single)
