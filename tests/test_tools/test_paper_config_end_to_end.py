"""The real configs/prelu_net_a_8xb16.py, full size (178 M parameters),
end to end on the photographs of the ``photos`` fixture (tests/conftest.py,
mixed sizes, orientations and formats), as a user runs it:

* ``tools/dist_train.sh CONFIG 2``: 2 CPU processes (gloo), 2 iterations of
  batch 1 per process, then validation (centre crops, 1 image per process);
* ``tools/test.py --tta``: the config's own protocol (dense windows on the
  whole image at shorter sides 256, 384 and 480, each flipped) on a batch
  of 2 photographs of different shapes (a square and a portrait);
* ``tools/test.py --protocol ten-view`` (AlexNet's 10 views).

Only the numbers of iterations and images are cut, never the model. On a
2-core machine with other jobs running this module took 2 min 40 s; the
two training processes peak at about 4.5 GB each.
"""
import pickle
import re
import shutil

import cv2
import pytest
import torch

from tool_runner import ROOT, check, free_port, python, run

CONFIG = ROOT / 'configs' / 'prelu_net_a_8xb16.py'
LONG = 1200  # seconds a command may take (a loaded 2-core machine)
PARAMS_A = 178_032_072


def loader_options(photos, loader, images, batch_size=1):
    return [
        f'{loader}_dataloader.dataset.data_root={photos}',
        f'{loader}_dataloader.dataset.indices={images}',
        f'{loader}_dataloader.batch_size={batch_size}',
        f'{loader}_dataloader.num_workers=0',
        f'{loader}_dataloader.persistent_workers=False'
    ]


@pytest.fixture(scope='module')
def work_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp('prelu_net_a')
    yield path
    shutil.rmtree(path, ignore_errors=True)  # a 1.4 GB checkpoint


@pytest.fixture(scope='module')
def trained(photos, work_dir):
    """tools/dist_train.sh on 2 CPU processes: 4 training photographs,
    batch 1 per process (2 iterations), validation on 2 photographs.
    --auto-scale-lr: lr 0.01 is for a total batch of 128; at 2 the first
    step can blow the weights up (loss 7 -> 7000 seen with seed 0)."""
    out = check(
        run([
            'bash', 'tools/dist_train.sh',
            str(CONFIG), '2', '--work-dir',
            str(work_dir), '--auto-scale-lr', '--cfg-options',
            *loader_options(photos, 'train', 4),
            *loader_options(photos, 'val', 2), 'train_cfg.max_epochs=1',
            'default_hooks.logger.interval=1', 'randomness.seed=0'
        ],
            env=dict(PORT=str(free_port())),
            timeout=LONG))
    return work_dir / 'epoch_1.pth', out


def test_dist_train_and_validation(trained):
    checkpoint, out = trained
    assert re.search(r'GPU number: 2\b', out)
    assert "'backend': 'gloo'" in out
    assert 'Epoch(train) [1][2/2]' in out
    assert 'Scaling the original LR by 0.015625' in out  # 2 / 128
    losses = [float(v) for v in re.findall(r'\bloss: ([0-9.]+)', out)]
    assert losses and max(losses) < 20  # about ln(1000) = 6.9, no blow-up
    assert re.search(r'Epoch\(val\) \[1\]\[1/1\] +accuracy/top1: ', out)
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == 2
    weights = state['state_dict']
    assert sum(v.numel() for k, v in weights.items()
               if not k.startswith('data_preprocessor')) == PARAMS_A
    assert weights['head.layers.0.fc.weight'].shape == (4096, 512 * 63)


@pytest.mark.parametrize(
    'protocol,whole_images', [
        (['--tta'], True),
        (['--protocol', 'ten-view'], False),
    ],
    ids=['tta', 'ten-view'])
def test_protocol_on_a_mixed_shape_batch(trained, photos, work_dir, protocol,
                                         whole_images):
    out_file = work_dir / f'{protocol[-1].strip("-")}.pkl'
    out = check(
        python(
            'test.py',
            CONFIG,
            trained[0],
            *protocol,
            '--work-dir',
            work_dir / 'test',
            '--out',
            out_file,
            '--cfg-options',
            *loader_options(photos, 'test', 2, batch_size=2),
            timeout=LONG))
    assert 'Epoch(test) [1/1]' in out  # both images in one batch
    assert re.search(r'^accuracy/top1: ', out, re.M)
    with open(out_file, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 2
    shapes = {cv2.imread(r['img_path']).shape[:2] for r in results}
    assert len(shapes) == 2 and any(h != w for h, w in shapes)
    for result in results:
        score = result['pred_score']
        assert score.shape == (1000, ) and torch.isfinite(score).all()
        assert abs(float(score.sum()) - 1) < 1e-4
    if whole_images:  # each view keeps its photograph's shape
        assert len({tuple(r['img_shape']) for r in results}) == 2
