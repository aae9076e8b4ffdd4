"""Process groups of our tools: mmengine's, plus what it lacks.

mmengine's Runner creates the group itself (``mmengine.dist.init_dist``
with ``env_cfg.dist_cfg``, in ``Runner.setup_env``) unless one exists.
:func:`init_distributed` runs before the Runner is built and adds only what
mmengine 0.10.7 lacks:

1. **CPU jobs.** ``init_dist`` calls ``torch.cuda.set_device(local_rank)``
   for every launcher, and ``Runner.wrap_model`` gives
   ``MMDistributedDataParallel`` ``device_ids=[LOCAL_RANK]`` unless
   ``model_wrapper_cfg`` says otherwise. Without CUDA we call ``init_dist``
   ourselves with the ``gloo`` backend and that one call made a no-op, and
   set ``cfg.model_wrapper_cfg`` with ``device_ids=None``.
2. **The local rank under MPI.** mmengine's MPI path sets ``RANK`` and
   ``WORLD_SIZE`` but never ``LOCAL_RANK``, which ``wrap_model`` reads: with
   one process per GPU every rank of a node got ``device_ids=[0]``. We copy
   ``OMPI_COMM_WORLD_LOCAL_RANK`` to ``LOCAL_RANK``.
3. **A collective timeout** (``env_cfg.dist_cfg.timeout``, seconds):
   :data:`DEFAULT_TIMEOUT` when the config has none (torch's default is 30
   minutes), so that a rank that hangs makes the others fail and
   :func:`~.elastic.explain_collective_failure` names it.

``env_cfg.dist_cfg`` is written back (``backend``, ``timeout``), so the
config dumped to the work dir tells what ran. The variables each launcher
needs are checked first; a missing one raises a ``KeyError`` naming it.
Restart rounds get a fresh store from torch itself (see
:mod:`mmprelu.apis.elastic`).
"""
import contextlib
import gc
import logging
import os
import sys

import torch
import torch.distributed as torch_dist
from mmengine.dist import init_dist, is_distributed
from mmengine.utils.dl_utils import set_multi_processing

from .elastic import warn_shared_store

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
#: The variables mmengine's ``init_dist`` reads for each launcher without a
#: default (pytorch's ``LOCAL_RANK``: 0 unless set, as in our tools)
REQUIRED_ENV = dict(
    pytorch=('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
    slurm=('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
    mpi=('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
         'OMPI_COMM_WORLD_LOCAL_RANK', 'MASTER_ADDR'))
#: Seconds a collective waits for the slowest rank (``env_cfg.dist_cfg.
#: timeout`` when the config has none; configs/_base_/default_runtime.py sets
#: the same value). Long enough for what legitimately keeps ranks apart in an
#: ImageNet run of model C on 8 GPUs: rank 0 writing a 2.6 GB checkpoint to
#: slow network storage (~30 s at 100 MB/s), torch.compile's first step,
#: dataloader start-up; short enough that a hung rank costs minutes, not
#: torch's 30.
DEFAULT_TIMEOUT = 600


def _timeout(dist_cfg: dict) -> float:
    seconds = dist_cfg.get('timeout', None)
    if seconds is None:
        return DEFAULT_TIMEOUT
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or seconds <= 0:
        raise ValueError(f'env_cfg.dist_cfg.timeout must be a positive '
                         f'number of seconds, got {seconds!r}')
    return seconds


@contextlib.contextmanager
def _no_cuda_device():
    """``torch.cuda.set_device`` as a no-op, for mmengine's ``init_dist``
    on a machine without CUDA (see the module docstring)."""
    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = set_device


def init_distributed(cfg, launcher: str) -> bool:
    """Prepare ``cfg`` and the environment for the process group of
    ``launcher``, and create the group where mmengine cannot (no CUDA).

    Args:
        cfg (mmengine.Config): the config the Runner will be built from;
            changed in place (``env_cfg.dist_cfg.backend`` and ``timeout``;
            without CUDA also ``model_wrapper_cfg``).
        launcher (str): one of ``'none'``, ``'pytorch'``, ``'slurm'``,
            ``'mpi'``.

    Returns:
        bool: False for ``launcher='none'``, else True.

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
    env_cfg = dict(cfg.get('env_cfg', None) or {})
    dist_cfg = dict(env_cfg.get('dist_cfg', None) or {})
    cuda = torch.cuda.is_available()
    dist_cfg.update(
        backend=dist_cfg.get('backend', 'nccl') if cuda else 'gloo',
        timeout=_timeout(dist_cfg))
    env_cfg['dist_cfg'] = dist_cfg
    cfg.env_cfg = env_cfg
    if not is_distributed():
        missing = [n for n in REQUIRED_ENV[launcher] if not os.environ.get(n)]
        if missing:
            raise KeyError(f'launcher {launcher!r}: environment variable(s) '
                           f'{missing} not set (start the job with that '
                           f'launcher, e.g. tools/dist_train.sh for pytorch)')
        if launcher == 'mpi':
            os.environ['LOCAL_RANK'] = os.environ['OMPI_COMM_WORLD_LOCAL_RANK']
        os.environ.setdefault('LOCAL_RANK', '0')  # slurm: init_dist sets it
        warn_shared_store()
        if not cuda:  # mmengine's Runner does this with CUDA
            set_multi_processing(
                **(env_cfg.get('mp_cfg') or {}),
                distributed=True)  # as the Runner first
            with _no_cuda_device():
                init_dist(launcher, **dist_cfg)
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
    if not is_distributed():
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
