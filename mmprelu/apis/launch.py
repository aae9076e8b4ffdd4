"""Distributed training and testing on machines without CUDA.

``tools/train.py`` and ``tools/test.py`` call :func:`init_cpu_distributed`
before the Runner is built. With CUDA available it does nothing and
mmengine's usual path runs. Without CUDA, mmengine 0.10.7 cannot run a
multi-process job, for two reasons:

1. ``mmengine.dist.init_dist`` (called from ``Runner.setup_env``) calls
   ``torch.cuda.set_device(local_rank)`` for the pytorch, slurm and mpi
   launchers before creating the process group; without CUDA this raises.
2. ``Runner.wrap_model`` gives ``MMDistributedDataParallel`` (a
   ``DistributedDataParallel``) ``device_ids=[LOCAL_RANK]``, whether or not
   ``model_wrapper_cfg`` is set; DDP of a CPU module needs
   ``device_ids=None``.

The fix, without patching mmengine: create the process group here, with
the ``gloo`` backend, from the launcher's environment variables
(``Runner.setup_env`` skips ``init_dist`` when ``is_distributed()`` is
already true), and set ``cfg.model_wrapper_cfg`` with ``device_ids=None``
(a config value wins over the Runner's ``default_args`` when the wrapper is
built). We also set ``cfg.env_cfg.dist_cfg.backend='gloo'`` so the config
dumped to the work dir tells what ran.

Environment variables read per launcher (a missing required one raises a
``KeyError`` naming it):

* ``pytorch`` (torchrun): ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (default
  0), ``MASTER_ADDR``, ``MASTER_PORT``.
* ``slurm``: ``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID``
  (default: ``SLURM_PROCID``), ``MASTER_ADDR`` (default: the first host of
  ``scontrol show hostname $SLURM_NODELIST``), ``MASTER_PORT`` (default
  29500).
* ``mpi`` (Open MPI): ``OMPI_COMM_WORLD_RANK``, ``OMPI_COMM_WORLD_SIZE``,
  ``OMPI_COMM_WORLD_LOCAL_RANK``, ``MASTER_ADDR`` (default 127.0.0.1 when
  every process is on one node, i.e. ``OMPI_COMM_WORLD_LOCAL_SIZE`` equals
  the world size; required otherwise), ``MASTER_PORT`` (default 29500).

The resolved ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT`` are written back to ``os.environ``: mmengine reads
``LOCAL_RANK`` when it wraps the model, whatever the launcher.
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

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
DEFAULT_PORT = '29500'


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


def _timeout(dist_cfg: dict) -> Optional[datetime.timedelta]:
    seconds = dist_cfg.get('timeout', None)
    if seconds is None:
        return None
    if not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ValueError(f'env_cfg.dist_cfg.timeout must be a positive '
                         f'number of seconds, got {seconds!r}')
    return datetime.timedelta(seconds=seconds)


def init_cpu_distributed(cfg, launcher: str) -> bool:
    """Create a gloo process group and adapt ``cfg`` for CPU DDP.

    Args:
        cfg (mmengine.Config): the config the Runner will be built from;
            changed in place (``env_cfg.dist_cfg.backend``,
            ``model_wrapper_cfg``).
        launcher (str): one of ``'none'``, ``'pytorch'``, ``'slurm'``,
            ``'mpi'``.

    Returns:
        bool: True when this function set up CPU distribution, False when
        nothing was needed (``launcher='none'``, or CUDA is available and
        mmengine's own launcher path applies).

    A user ``model_wrapper_cfg`` keeps its keys except ``device_ids``,
    which is forced to ``None``; without one we use
    ``MMDistributedDataParallel`` with ``broadcast_buffers=False`` and the
    config's ``find_unused_parameters`` (the Runner's own defaults). If a
    process group already exists it is kept.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'unknown launcher {launcher!r}; valid: '
                         f'{LAUNCHERS}')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if not torch_dist.is_available():
        raise RuntimeError(f'launcher {launcher!r} needs torch.distributed, '
                           'which this torch build lacks')

    env_cfg = cfg.get('env_cfg', None) or {}
    dist_cfg = dict(env_cfg.get('dist_cfg', None) or {})
    if not torch_dist.is_initialized():
        info = dist_env(launcher)
        os.environ.update(RANK=str(info['rank']),
                          WORLD_SIZE=str(info['world_size']),
                          LOCAL_RANK=str(info['local_rank']),
                          MASTER_ADDR=str(info['master_addr']),
                          MASTER_PORT=info['master_port'])
        kwargs = dict(backend='gloo', init_method='env://',
                      rank=info['rank'], world_size=info['world_size'])
        timeout = _timeout(dist_cfg)
        if timeout is not None:
            kwargs['timeout'] = timeout
        torch_dist.init_process_group(**kwargs)
    else:
        os.environ.setdefault('LOCAL_RANK', '0')

    dist_cfg['backend'] = 'gloo'
    env_cfg = dict(env_cfg)
    env_cfg['dist_cfg'] = dist_cfg
    cfg.env_cfg = env_cfg

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
