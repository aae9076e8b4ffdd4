"""A CPU run killed with SIGKILL mid-training and resumed with --resume ends
with the same weights, bit for bit, as an uninterrupted run
(ExactResumeHook)."""
import signal

import pytest
import torch

from fault_runner import PLATEAU, fault_env, write_config
from tool_runner import check, python

ITERS_PER_EPOCH = 4  # 64 images, batch 16


def train(config, work_dir, options, *extra, kill_at=None):
    env = fault_env() if kill_at is None else fault_env(kill_at_iter=kill_at)
    return python(
        'train.py',
        config,
        '--work-dir',
        work_dir,
        *extra,
        *options,
        'train_dataloader.batch_size=16',
        'train_cfg.max_epochs=2',
        'randomness.seed=0',
        'randomness.deterministic=True',
        # an iteration checkpoint every iteration (IterCheckpointHook
        # beside the epoch hook); epoch 1's end is one (no epoch
        # checkpoint due), epoch 2's is epoch_2.pth
        'default_hooks.checkpoint.interval=2',
        'default_hooks.iter_checkpoint.interval=1',
        'default_hooks.iter_checkpoint.max_keep_ckpts=-1',
        env=env)


def weights(path):
    return torch.load(
        path, map_location='cpu', weights_only=True)['state_dict']


@pytest.fixture(scope='module')
def reference(tmp_path_factory, options):
    tmp = tmp_path_factory.mktemp('resume_ref')
    config = write_config(tmp, PLATEAU)
    check(train(config, tmp / 'work', options))
    return config, weights(tmp / 'work' / 'epoch_2.pth')


# kill_at 3: mid-epoch (3 of 4 batches done); 4: the last batch of epoch 1,
# before its validation and plateau step. The reference loads in the main
# process; runs with 2 workers (re-created each epoch, or persistent) must
# end with the same weights: augmentation is seeded per sample.
@pytest.mark.parametrize('kill_at,workers,persistent', [(3, 0, False),
                                                        (4, 0, False),
                                                        (3, 2, False),
                                                        (2, 2, True),
                                                        (4, 2, True)])
def test_killed_and_resumed_run_matches(tmp_path, options, reference, kill_at,
                                        workers, persistent):
    config, expected = reference
    work = tmp_path / 'work'
    loader = [
        f'train_dataloader.num_workers={workers}',
        f'train_dataloader.persistent_workers={persistent}'
    ]
    proc = train(config, work, options + loader, kill_at=kill_at)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert (work / f'iter_{kill_at}.pth').is_file()
    assert not (work / f'iter_{kill_at + 1}.pth').exists()
    out = check(train(config, work, options + loader, '--resume'))
    assert f'resumes after {kill_at % ITERS_PER_EPOCH or 4} of its' in out
    got = weights(work / 'epoch_2.pth')
    assert got.keys() == expected.keys()
    slopes = [k for k in got if 'prelu' in k.lower() or 'act' in k]
    assert slopes, 'expected PReLU slopes in the state dict'
    different = [k for k in got if not torch.equal(got[k], expected[k])]
    assert not different, f'weights differ after resume: {different}'
