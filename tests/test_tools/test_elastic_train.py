"""Two-process training on CPU over gloo that survives failures:
``MAX_RESTARTS=N bash tools/dist_train.sh`` with ranks killed, a damaged
checkpoint and a kill in the middle of a checkpoint write ends with the
same weights, bit for bit, as an uninterrupted run; a hung rank fails the
job within the collective timeout, named. Marked ``multiprocess`` (skip
locally with ``-m "not multiprocess"``)."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from fault_runner import PLATEAU, fault_env, write_config
from tool_runner import ROOT, check, free_port, python, run

pytestmark = pytest.mark.multiprocess

ITERS_PER_EPOCH = 4  # 64 images, 2 processes of batch 8


def dist_args(config, work_dir, options, *extra):
    return [
        'bash', 'tools/dist_train.sh',
        str(config), '2', '--work-dir',
        str(work_dir), *options, 'train_dataloader.batch_size=8',
        'train_cfg.max_epochs=2', 'train_dataloader.num_workers=2',
        'train_dataloader.persistent_workers=True', 'randomness.seed=0',
        'randomness.deterministic=True',
        'default_hooks.iter_checkpoint.interval=1',
        'default_hooks.iter_checkpoint.max_keep_ckpts=3', *extra
    ]


def dist_env(restarts=0, **faults):
    return dict(
        fault_env(**faults), PORT=str(free_port()), MAX_RESTARTS=str(restarts))


def state(path):
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    return checkpoint['state_dict'], checkpoint['optimizer']['state']


@pytest.fixture(scope='module')
def reference(tmp_path_factory, options):
    tmp = tmp_path_factory.mktemp('elastic_ref')
    config = write_config(tmp, PLATEAU)
    check(
        run(dist_args(config, tmp / 'work', options),
            env=dist_env(),
            timeout=300))
    return config, state(tmp / 'work' / 'epoch_2.pth'), tmp / 'work'


def test_resume_on_one_process_says_it_is_not_exact(tmp_path, options,
                                                    reference):
    """An iteration checkpoint of the 2-process run (3 of epoch 2's 4
    batches done) resumed by 1 process: training goes on, and the log says
    what is not exact."""
    config, _, ref_work = reference
    out = check(
        python(
            'train.py',
            config,
            '--work-dir',
            tmp_path,
            '--resume',
            ref_work / 'iter_7.pth',
            *options,
            'train_dataloader.batch_size=8',
            'train_cfg.max_epochs=2',
            'randomness.seed=0',
            env=fault_env()))
    assert ('the checkpoint was written by a 2-process run and this run has '
            '1 processes, so the run is not bit-exact') in out
    assert 'epoch 2 restarts from its first batch' in out
    assert 'Epoch(train) [2][8/8]' in out  # the whole epoch, 8 batches


def test_restarts_resume_bit_exactly(tmp_path, options, reference):
    """Round 0: rank 1 is killed after iteration 3 (mid-epoch 1), whose
    checkpoint rank 0 has just damaged. Round 1 skips it, resumes from
    iteration 2, and rank 0 is killed half-way through writing iteration
    6's checkpoint. Round 2 resumes from iteration 5 and finishes."""
    config, (weights, momenta), _ = reference
    work = tmp_path / 'work'
    proc = run(
        dist_args(config, work, options),
        env=dist_env(
            restarts=2, faults='0:1:3:kill,0:0:3:corrupt,'
            '1:0:6:killwrite'),
        timeout=600)
    out = check(proc)
    restart1, restart2 = 'torchrun restart 1 of at most 2', \
        'torchrun restart 2 of at most 2'
    assert (f'{restart1}: skipping checkpoint {work}/iter_3.pth: damaged: '
            f'CRC mismatch') in out
    assert f'{restart1}: resuming from {work}/iter_2.pth' in out
    assert 'epoch 1 resumes after 2 of its 4 batches' in out
    # the half-written iteration 6 never got its final name
    assert f'{restart2}: resuming from {work}/iter_5.pth' in out
    assert 'iter_6.pth:' not in out  # nothing to skip
    assert 'epoch 2 resumes after 1 of its 4 batches' in out
    assert not [f for f in os.listdir(work) if f.endswith('.part')]
    got_weights, got_momenta = state(work / 'epoch_2.pth')
    assert any('act' in k for k in got_weights), 'no PReLU slopes saved'
    assert got_weights.keys() == weights.keys()
    assert [k for k in weights
            if not torch.equal(got_weights[k], weights[k])] == []
    assert got_momenta.keys() == momenta.keys()
    assert [
        k for k in momenta if not torch.equal(
            got_momenta[k]['momentum_buffer'], momenta[k]['momentum_buffer'])
    ] == []


def test_hung_rank_fails_the_job_and_is_named(tmp_path, options):
    """Rank 1 stops (SIGSTOP) after iteration 2; rank 0 fails in the next
    collective after env_cfg.dist_cfg.timeout=5 s, calls the roll and names
    rank 1. torchrun then waits 30 s for the stopped rank to take SIGTERM
    before it SIGKILLs it; the test kills it itself once the error is out,
    to save that time."""
    config = write_config(tmp_path, PLATEAU)
    stopped = tmp_path / 'stopped'
    env = dict(
        os.environ,
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH'],
        PYTHON=sys.executable,
        **dist_env(faults='0:1:2:stop', stopped=stopped))
    proc = subprocess.Popen(
        dist_args(config, tmp_path / 'work', options,
                  'env_cfg.dist_cfg.timeout=5'),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True)
    lines, named = [], threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if 'did not answer a roll call' in line and not named.is_set():
                named.when = time.time()
                named.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert named.wait(240), ''.join(lines[-60:])
        pid, stop_time = stopped.read_text().split()
        os.kill(int(pid), signal.SIGKILL)
        assert proc.wait(60) != 0
    finally:
        if stopped.is_file():  # never leave a stopped process behind
            try:
                os.kill(int(stopped.read_text().split()[0]), signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            proc.terminate()  # torchrun stops its workers
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    reader.join(10)
    out = ''.join(lines)
    assert ('a collective failed (env_cfg.dist_cfg.timeout=5 s)' in out
            and 'rank(s) [1] did not answer a roll call within 5 s' in out)
    # timeout 5 s + roll call 5 s + slack for a loaded 2-core machine
    assert named.when - float(stop_time) < 40
