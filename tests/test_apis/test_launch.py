import datetime
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from mmprelu.apis.launch import DEFAULT_TIMEOUT, init_distributed

DIST_VARS = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT',
             'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID', 'SLURM_NODELIST',
             'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
             'OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_LOCAL_SIZE',
             'TORCHELASTIC_USE_AGENT_STORE', 'TORCHELASTIC_RESTART_COUNT',
             'TORCHELASTIC_MAX_RESTARTS', 'GROUP_WORLD_SIZE')


@pytest.fixture
def env(monkeypatch):
    """A clean distributed environment; returns a setter."""
    for name in DIST_VARS:
        monkeypatch.delenv(name, raising=False)

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))

    return set_env


@pytest.fixture
def no_cuda(monkeypatch):
    """No CUDA; the variables a distributed Runner (and our CPU group) sets
    when absent are restored afterwards."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        monkeypatch.setenv(name, os.environ.get(name, '2'))


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize('launcher,values,missing', [
    ('pytorch', dict(WORLD_SIZE=2, MASTER_ADDR='a', MASTER_PORT=1), 'RANK'),
    ('slurm', dict(SLURM_PROCID=0, SLURM_NTASKS=2), 'SLURM_NODELIST'),
    ('mpi',
     dict(
         OMPI_COMM_WORLD_RANK=0,
         OMPI_COMM_WORLD_SIZE=4,
         OMPI_COMM_WORLD_LOCAL_RANK=0,
         OMPI_COMM_WORLD_LOCAL_SIZE=2), 'MASTER_ADDR'),
])
@pytest.mark.parametrize('cuda', [False, True])
def test_missing_launcher_variable_is_named(env, monkeypatch, launcher, values,
                                            missing, cuda):
    env(**values)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    with pytest.raises(KeyError, match=f"launcher '{launcher}'.*{missing}"):
        init_distributed(make_cfg(), launcher)
    assert not torch_dist.is_initialized()


def make_cfg(**kwargs):
    return Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl')), **kwargs))


def test_nothing_without_launcher(no_cuda):
    cfg = make_cfg()
    assert init_distributed(cfg, 'none') is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg


@pytest.mark.parametrize(
    'launcher,values,local_rank',
    [
        ('pytorch',
         dict(
             RANK=5,
             WORLD_SIZE=8,
             LOCAL_RANK=1,
             MASTER_ADDR='10.0.0.1',
             MASTER_PORT=1234), 1),
        ('slurm',
         dict(
             SLURM_PROCID=6,
             SLURM_NTASKS=8,
             SLURM_LOCALID=2,
             SLURM_NODELIST='node[7-8]',
             MASTER_ADDR='node7'), 2),
        # mmengine's own MPI path never sets LOCAL_RANK: every rank of a node
        # then wrapped DDP with device_ids=[0]
        ('mpi',
         dict(
             OMPI_COMM_WORLD_RANK=7,
             OMPI_COMM_WORLD_SIZE=8,
             OMPI_COMM_WORLD_LOCAL_RANK=3,
             OMPI_COMM_WORLD_LOCAL_SIZE=4,
             MASTER_ADDR='10.0.0.1'), 3),
    ])
def test_cuda_group_on_the_local_rank(env, monkeypatch, launcher, values,
                                      local_rank):
    """With CUDA (mocked) the Runner's init_dist creates the group with the
    config's backend on the GPU of the local rank, which LOCAL_RANK (read
    by Runner.wrap_model) names."""
    from mmengine.dist import init_dist
    env(**values)
    calls = {}
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'set_device',
                        lambda device: calls.update(device=device))
    monkeypatch.setattr(torch_dist, 'init_process_group',
                        lambda **kwargs: calls.update(group=kwargs))
    cfg = make_cfg()
    assert init_distributed(cfg, launcher) is True
    assert calls == {}  # left to the Runner
    assert cfg.env_cfg.dist_cfg == dict(
        backend='nccl', timeout=DEFAULT_TIMEOUT)
    assert 'model_wrapper_cfg' not in cfg  # mmengine's: device_ids=[LOCAL]
    torch.multiprocessing.get_start_method()  # init_dist would set spawn
    init_dist(launcher, **cfg.env_cfg.dist_cfg)  # what Runner.setup_env does
    assert calls['device'] == local_rank
    assert calls['group']['backend'] == 'nccl'
    assert calls['group']['timeout'] == datetime.timedelta(
        seconds=DEFAULT_TIMEOUT)
    assert os.environ['LOCAL_RANK'] == str(local_rank)
    assert os.environ['RANK'] == str(
        values.get(
            'RANK',
            values.get('SLURM_PROCID', values.get('OMPI_COMM_WORLD_RANK'))))
    assert os.environ['WORLD_SIZE'] == '8'


def test_unknown_launcher():
    with pytest.raises(ValueError, match="unknown launcher 'ssh'"):
        init_distributed(make_cfg(), 'ssh')


@pytest.mark.parametrize('user_wrapper,expected', [
    (None,
     dict(
         type='MMDistributedDataParallel',
         broadcast_buffers=False,
         find_unused_parameters=True,
         device_ids=None)),
    (dict(find_unused_parameters=False, device_ids=[0]),
     dict(
         type='MMDistributedDataParallel',
         find_unused_parameters=False,
         device_ids=None)),
])
def test_gloo_group_and_cfg(env, no_cuda, user_wrapper, expected):
    env(RANK=0, WORLD_SIZE=1, MASTER_ADDR='127.0.0.1', MASTER_PORT=free_port())
    cfg = make_cfg(find_unused_parameters=True)
    cfg.env_cfg.dist_cfg.timeout = 60
    if user_wrapper is not None:
        cfg.model_wrapper_cfg = user_wrapper
    try:
        assert init_distributed(cfg, 'pytorch') is True
        assert torch_dist.is_initialized()
        assert torch_dist.get_backend() == 'gloo'
        assert torch_dist.get_world_size() == 1
        # a second call keeps the existing group
        assert init_distributed(cfg, 'pytorch') is True
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()
    assert cfg.env_cfg.dist_cfg == dict(backend='gloo', timeout=60)
    assert cfg.model_wrapper_cfg == expected
    assert os.environ['LOCAL_RANK'] == '0'


@pytest.mark.parametrize('launcher,values', [
    ('slurm',
     dict(
         SLURM_PROCID=0,
         SLURM_NTASKS=1,
         SLURM_LOCALID=0,
         SLURM_NODELIST='localhost',
         MASTER_ADDR='127.0.0.1')),
    ('mpi',
     dict(
         OMPI_COMM_WORLD_RANK=0,
         OMPI_COMM_WORLD_SIZE=1,
         OMPI_COMM_WORLD_LOCAL_RANK=0,
         MASTER_ADDR='127.0.0.1')),
])
def test_gloo_group_of_slurm_and_mpi(env, no_cuda, launcher, values):
    """mmengine's init_dist reads each launcher's variables; without CUDA
    its set_device call is skipped."""
    env(MASTER_PORT=free_port(), **values)
    try:
        assert init_distributed(make_cfg(), launcher) is True
        assert torch_dist.get_backend() == 'gloo'
        assert torch_dist.get_world_size() == 1
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()
    assert (os.environ['RANK'], os.environ['LOCAL_RANK']) == ('0', '0')


@pytest.mark.parametrize('timeout', ['30 min', 0, True])
def test_bad_timeout(env, no_cuda, timeout):
    env(RANK=0, WORLD_SIZE=1, MASTER_ADDR='127.0.0.1', MASTER_PORT=1)
    cfg = make_cfg()
    cfg.env_cfg.dist_cfg.timeout = timeout
    with pytest.raises(ValueError, match='dist_cfg.timeout'):
        init_distributed(cfg, 'pytorch')
    assert not torch_dist.is_initialized()


def test_runner_skips_its_own_init_dist(env, no_cuda, tmp_path):
    """mmengine 0.10.7's Runner.setup_env calls init_dist only when no
    process group exists: with ours it builds and wraps a CPU model."""
    from mmengine.model import BaseModel, MMDistributedDataParallel
    from mmengine.runner import Runner

    class Toy(BaseModel):

        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            return self.fc(inputs)

    env(RANK=0, WORLD_SIZE=1, MASTER_ADDR='127.0.0.1', MASTER_PORT=free_port())
    cfg = make_cfg()
    try:
        init_distributed(cfg, 'pytorch')
        runner = Runner(
            model=Toy(),
            work_dir=str(tmp_path),
            launcher='pytorch',
            env_cfg=cfg.env_cfg,
            default_scope='mmpretrain',
            cfg=cfg)
        assert runner.distributed and runner.world_size == 1
        assert isinstance(runner.model, MMDistributedDataParallel)
        assert runner.model.device_ids is None
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def test_close_then_exit_flushes_everything(tmp_path):
    """A closed group ends with os._exit: stdout, stderr and log files are
    flushed and the exit code is kept."""
    log = tmp_path / 'run.log'
    script = f"""
import logging, os, sys
import torch.distributed as dist
from mmprelu.apis import close_distributed, exit_process
os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT='{free_port()}')
assert close_distributed() is False  # no group yet
dist.init_process_group('gloo', rank=0, world_size=1)
logger = logging.getLogger('t')
logger.addHandler(logging.FileHandler({str(log)!r}))
logger.warning('logged before exit')
sys.stdout.write('unflushed stdout')
sys.stderr.write('unflushed stderr')
assert close_distributed() is True
assert not dist.is_initialized()
exit_process(3)
print('never printed')
"""
    proc = subprocess.run([sys.executable, '-c', script],
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == 'unflushed stdout'
    assert 'unflushed stderr' in proc.stderr
    assert log.read_text() == 'logged before exit\n'
