"""Process-group set-up of ``tools/train.py`` and ``tools/test.py``.

Both call :func:`init_distributed` before the Runner is built; the Runner's
``setup_env`` then skips mmengine's own ``init_dist`` (it runs only when no
process group exists). We create the group ourselves for three reasons:

1. **CPU jobs.** mmengine 0.10.7's ``init_dist`` calls
   ``torch.cuda.set_device(local_rank)`` for every launcher, and
   ``Runner.wrap_model`` gives ``MMDistributedDataParallel`` ``device_ids=
   [LOCAL_RANK]`` whether or not ``model_wrapper_cfg`` is set. Without CUDA
   we use the ``gloo`` backend and set ``cfg.model_wrapper_cfg`` with
   ``device_ids=None`` (a config value wins over the Runner's default
   arguments); ``cfg.env_cfg.dist_cfg.backend='gloo'`` is written back so the
   config dumped to the work dir tells what ran.
2. **The local rank.** mmengine's MPI path sets ``RANK`` and ``WORLD_SIZE``
   but never ``LOCAL_RANK``, which ``wrap_model`` reads; with one process per
   GPU every rank of a node then got ``device_ids=[0]``. We resolve the rank,
   world size and local rank of every launcher (below), write them to
   ``os.environ`` and, with CUDA, ``torch.cuda.set_device(local_rank)``.
3. **Restarts and hangs.** The group meets in the store of
   :func:`mmprelu.apis.elastic.create_store` (fresh keys in every torchrun
   restart round), and collectives time out after
   ``env_cfg.dist_cfg.timeout`` seconds (:data:`DEFAULT_TIMEOUT` when the
   config has none; torch's own default is 30 minutes), so a rank that hangs
   makes the others fail instead of blocking the job.

With CUDA the backend is the config's (``nccl`` in our runtime config).

Environment variables read per launcher (a missing required one raises a
``KeyError`` naming it):

* ``pytorch`` (torchrun): ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (default
  0, or ``--local-rank`` of the legacy launcher), ``MASTER_ADDR``,
  ``MASTER_PORT``.
* ``slurm``: ``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID``
  (default: ``SLURM_PROCID``), ``MASTER_ADDR`` (default: the first host of
  ``scontrol show hostname $SLURM_NODELIST``), ``MASTER_PORT`` (default
  29500).
* ``mpi`` (Open MPI): ``OMPI_COMM_WORLD_RANK``, ``OMPI_COMM_WORLD_SIZE``,
  ``OMPI_COMM_WORLD_LOCAL_RANK``, ``MASTER_ADDR`` (default 127.0.0.1 when
  every process is on one node, i.e. ``OMPI_COMM_WORLD_LOCAL_SIZE`` equals
  the world size; required otherwise), ``MASTER_PORT`` (default 29500).

The resolved ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT`` are written back to ``os.environ``.
"""
import datetime
import gc
import logging
import os
import subprocess
import sys
from typing import Dict, Optional

import torch
import torch.distributed as torch_dist

from .elastic import create_store

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
DEFAULT_PORT = '29500'
#: Seconds a collective waits for the slowest rank (``env_cfg.dist_cfg.
#: timeout`` when the config has none; configs/_base_/default_runtime.py sets
#: the same value). Long enough for what legitimately keeps ranks apart in an
#: ImageNet run of model C on 8 GPUs: rank 0 writing a 2.6 GB checkpoint to
#: slow network storage (~30 s at 100 MB/s), torch.compile's first step,
#: dataloader start-up; short enough that a hung rank costs minutes, not
#: torch's 30.
DEFAULT_TIMEOUT = 600


def _env(name: str, launcher: str, default: Optional[str] = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == '':
        raise KeyError(f'launcher {launcher!r}: environment variable {name} '
                       f'is not set (start the job with the {launcher} '
                       f'launcher, e.g. tools/dist_train.sh for pytorch)')
    return value


def _int_env(name: str, launcher: str, default: Optional[str] = None) -> int:
    value = _env(name, launcher, default)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f'launcher {launcher!r}: environment variable '
                         f'{name}={value!r} is not an integer') from None


def _slurm_master_addr(node_list: str) -> str:
    try:
        out = subprocess.run(
            ['scontrol', 'show', 'hostname', node_list],
            capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        raise RuntimeError(
            f'launcher \'slurm\': cannot resolve the master host from '
            f'SLURM_NODELIST={node_list!r} with scontrol ({err}); set '
            f'MASTER_ADDR') from None
    hosts = out.split()
    if not hosts:
        raise RuntimeError(f'launcher \'slurm\': scontrol listed no host for '
                           f'SLURM_NODELIST={node_list!r}; set MASTER_ADDR')
    return hosts[0]


def dist_env(launcher: str) -> Dict[str, object]:
    """Rank, world size, local rank, master address and port of this
    process under ``launcher`` ('pytorch', 'slurm' or 'mpi'), from the
    environment (see the module docstring)."""
    if launcher == 'pytorch':
        rank = _int_env('RANK', launcher)
        world_size = _int_env('WORLD_SIZE', launcher)
        local_rank = _int_env('LOCAL_RANK', launcher, '0')
        addr = _env('MASTER_ADDR', launcher)
        port = _env('MASTER_PORT', launcher)
    elif launcher == 'slurm':
        rank = _int_env('SLURM_PROCID', launcher)
        world_size = _int_env('SLURM_NTASKS', launcher)
        local_rank = _int_env('SLURM_LOCALID', launcher, str(rank))
        addr = os.environ.get('MASTER_ADDR') or _slurm_master_addr(
            _env('SLURM_NODELIST', launcher))
        port = os.environ.get('MASTER_PORT') or DEFAULT_PORT
    elif launcher == 'mpi':
        rank = _int_env('OMPI_COMM_WORLD_RANK', launcher)
        world_size = _int_env('OMPI_COMM_WORLD_SIZE', launcher)
        local_rank = _int_env('OMPI_COMM_WORLD_LOCAL_RANK', launcher)
        local_size = os.environ.get('OMPI_COMM_WORLD_LOCAL_SIZE')
        single_node = local_size is not None and local_size == str(world_size)
        addr = _env('MASTER_ADDR', launcher,
                    '127.0.0.1' if single_node else None)
        port = os.environ.get('MASTER_PORT') or DEFAULT_PORT
    else:
        raise ValueError(f'unknown launcher {launcher!r}; valid: '
                         f'{LAUNCHERS[1:]} (or \'none\')')
    if not 0 <= rank < world_size:
        raise ValueError(f'launcher {launcher!r}: rank {rank} is not in '
                         f'[0, world size {world_size})')
    return dict(rank=rank, world_size=world_size, local_rank=local_rank,
                master_addr=addr, master_port=str(port))


def _timeout(dist_cfg: dict) -> float:
    seconds = dist_cfg.get('timeout', None)
    if seconds is None:
        return DEFAULT_TIMEOUT
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or seconds <= 0:
        raise ValueError(f'env_cfg.dist_cfg.timeout must be a positive '
                         f'number of seconds, got {seconds!r}')
    return seconds


def export_dist_env(launcher: str) -> Dict[str, object]:
    """:func:`dist_env` of ``launcher``, written to ``os.environ`` as
    ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
    ``MASTER_PORT`` (what torch's ``env://`` and mmengine read)."""
    info = dist_env(launcher)
    os.environ.update(RANK=str(info['rank']),
                      WORLD_SIZE=str(info['world_size']),
                      LOCAL_RANK=str(info['local_rank']),
                      MASTER_ADDR=str(info['master_addr']),
                      MASTER_PORT=info['master_port'])
    return info


def init_distributed(cfg, launcher: str) -> bool:
    """Create the process group of ``launcher`` and adapt ``cfg``.

    Args:
        cfg (mmengine.Config): the config the Runner will be built from;
            changed in place (``env_cfg.dist_cfg.backend`` and ``timeout``;
            without CUDA also ``model_wrapper_cfg``).
        launcher (str): one of ``'none'``, ``'pytorch'``, ``'slurm'``,
            ``'mpi'``.

    Returns:
        bool: True when a process group is set up (or already existed),
        False for ``launcher='none'``.

    Without CUDA a user ``model_wrapper_cfg`` keeps its keys except
    ``device_ids``, which is forced to ``None``; without one we use
    ``MMDistributedDataParallel`` with ``broadcast_buffers=False`` and the
    config's ``find_unused_parameters`` (the Runner's own defaults). If a
    process group already exists it is kept.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'unknown launcher {launcher!r}; valid: '
                         f'{LAUNCHERS}')
    if launcher == 'none':
        return False
    if not torch_dist.is_available():
        raise RuntimeError(f'launcher {launcher!r} needs torch.distributed, '
                           'which this torch build lacks')

    cuda = torch.cuda.is_available()
    env_cfg = dict(cfg.get('env_cfg', None) or {})
    dist_cfg = dict(env_cfg.get('dist_cfg', None) or {})
    backend = dist_cfg.get('backend', 'nccl') if cuda else 'gloo'
    seconds = _timeout(dist_cfg)
    if not torch_dist.is_initialized():
        info = export_dist_env(launcher)
        if cuda:
            torch.cuda.set_device(info['local_rank'])
        timeout = datetime.timedelta(seconds=seconds)
        torch_dist.init_process_group(
            backend=backend, timeout=timeout, rank=info['rank'],
            world_size=info['world_size'],
            store=create_store(info['rank'], info['world_size'], timeout))
    else:
        os.environ.setdefault('LOCAL_RANK', '0')

    dist_cfg.update(backend=backend, timeout=seconds)
    env_cfg['dist_cfg'] = dist_cfg
    cfg.env_cfg = env_cfg
    if cuda:
        return True

    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        wrapper = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    else:
        wrapper = dict(wrapper)
        wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def close_distributed() -> bool:
    """Leave the process group cleanly at the end of a tool.

    Waits for every rank first, so none exits while another still talks to
    it, then destroys the group. Drop the Runner (its DDP wrapper holds the
    group) before calling this. Returns True when a group was closed: the
    tool should then end with :func:`exit_process`.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return False
    gc.collect()
    torch_dist.barrier()
    torch_dist.destroy_process_group()
    return True


def exit_process(code: int = 0) -> None:
    """End a distributed tool's process without C++ static destructors.

    With gloo, a process sometimes aborted at interpreter exit ("terminate
    called without an active exception", SIGABRT) after its job had
    finished, and torchrun then reported the whole run as failed. The
    abort happens while torch's C++ globals are torn down, which
    ``os._exit`` skips. Logs and the standard streams are flushed first;
    the Runner has already closed its visualizer and checkpoints in its
    ``after_run`` hooks, so nothing is lost.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)
