"""Restarted and failing multi-process jobs (torchrun's elastic agent, Slurm).

What torch and mmengine leave to us, used by :mod:`mmprelu.apis.launch` and
``tools/train.py``:

* :func:`restart_reason`: whether this process belongs to a restarted job
  (``TORCHELASTIC_RESTART_COUNT`` > 0: torchrun restarted the worker group;
  ``SLURM_RESTART_COUNT`` > 0: Slurm requeued the job). ``tools/train.py``
  then resumes by itself.
* :func:`warn_shared_store`: torchrun's agent hands every restart round the
  same store (``TORCHELASTIC_USE_AGENT_STORE=True``), where a restarted
  rank reads the previous round's keys: gloo dials the dead ranks'
  addresses ("connectFullMesh failed ... Connection refused") or hangs.
  torch's own cure is a fresh store per round,
  ``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1`` with the c10d rendezvous
  (``tools/dist_train.sh`` sets both when ``MAX_RESTARTS`` > 0); a job
  that may restart without it gets a warning naming the switch. torch 2.1
  keys the rounds apart itself (``/worker/attempt_<n>/``,
  :func:`mmprelu.compat.torch_keys_restart_rounds_apart`): no warning.
* :func:`explain_collective_failure`: after a collective timed out (a rank
  hangs) or lost its peer (a rank died), the surviving ranks call the roll
  in the job's store and the error names the ranks that did not answer.
  ``torch.distributed.monitored_barrier(wait_all_ranks=True)`` cannot: on a
  gloo group whose collective timed out it fails at once with "Application
  timeout caused pair closure" and names no rank (torch 2.1 and 2.14), and
  NCCL groups lack it.
"""
import datetime
import os
import re
import time
from typing import List, Optional

import torch.distributed as torch_dist
from mmengine.logging import print_log

from mmprelu import compat

AGENT_STORE_ENV = 'TORCHELASTIC_USE_AGENT_STORE'
FRESH_STORE_ENV = 'TORCH_DISABLE_SHARE_RDZV_TCP_STORE'
#: errors of the communication backend (gloo/NCCL) that mean a peer is not
#: there: a timeout, or a lost connection
BACKEND = re.compile(r'gloo|nccl|processgroup', re.IGNORECASE)
PEER_FAILURE = re.compile(
    r'timed? ?out|timeout|connection (closed|reset|refused)|broken pipe',
    re.IGNORECASE)


def _int_env(name: str, default: int = 0) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def restart_reason() -> Optional[str]:
    """``'torchrun restart N of at most M'``, ``'Slurm requeue N'`` or
    ``None`` when this is the job's first start."""
    count = _int_env('TORCHELASTIC_RESTART_COUNT')
    if count > 0:
        return (f'torchrun restart {count} of at most '
                f'{_int_env("TORCHELASTIC_MAX_RESTARTS", count)}')
    count = _int_env('SLURM_RESTART_COUNT')
    if count > 0:
        return f'Slurm requeue {count}'
    return None


def warn_shared_store() -> None:
    """Warn when torchrun may restart this job on a shared store (see the
    module docstring)."""
    if os.environ.get(AGENT_STORE_ENV) == 'True' and \
            _int_env('TORCHELASTIC_MAX_RESTARTS') > 0 and \
            not compat.torch_keys_restart_rounds_apart():
        print_log(
            f'torchrun restarts with the agent\'s shared store reconnect to '
            f'the previous round\'s addresses; launch with '
            f'--rdzv-backend=c10d and {FRESH_STORE_ENV}=1 '
            f'(tools/dist_train.sh does both when MAX_RESTARTS > 0)',
            logger='current',
            level=30)


def unresponsive_ranks(rank: int, world_size: int, grace: float) -> List[int]:
    """Call the roll: count this rank's key up, wait up to ``grace``
    seconds for the others', return the ranks that did not answer. A store
    that cannot be reached counts as rank 0 not answering when rank 0 hosts
    it (no agent store), else raises the store's error.

    The keys are counters read with ``store.add(key, 0)``, which never
    blocks, on every torch (``Store.check`` would do too, but torch 2.1's
    Python ``Store`` lacks it)."""
    timeout = datetime.timedelta(seconds=grace)
    keys = [f'mmprelu/roll_call/{r}' for r in range(world_size)]
    try:
        # the job's store, from MASTER_ADDR/PORT as the group found it
        store, _, _ = next(
            torch_dist.rendezvous(
                'env://', rank=rank, world_size=world_size, timeout=timeout))
        store.set_timeout(timeout)
        store.add(keys[rank], 1)
        deadline = time.monotonic() + grace
        missing = [r for r in range(world_size) if r != rank]
        while missing and time.monotonic() < deadline:
            missing = [r for r in missing if store.add(keys[r], 0) < 1]
            if missing:
                time.sleep(0.2)
        return missing
    except Exception:
        if os.environ.get(AGENT_STORE_ENV) != 'True' and rank != 0:
            return [0]
        raise


def explain_collective_failure(err: BaseException,
                               timeout_s: Optional[float]) -> Optional[str]:
    """A message naming the ranks that do not answer, when ``err`` looks
    like a collective that timed out or lost its peer in a multi-process
    job; ``None`` otherwise (the error is the rank's own)."""
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return None
    world_size = torch_dist.get_world_size()
    text = str(err)
    from_backend = isinstance(err, compat.DIST_ERRORS) or \
        BACKEND.search(text)
    if world_size < 2 or not from_backend or not PEER_FAILURE.search(text):
        return None
    rank = torch_dist.get_rank()
    grace = min(30.0, float(timeout_s or 30.0))
    first_line = (text.strip().splitlines() or [''])[0][:300]
    try:
        missing = unresponsive_ranks(rank, world_size, grace)
    except Exception as store_err:  # the store is gone too
        return (f'rank {rank}: a collective failed ({first_line}) and the '
                f'job\'s store does not answer either ({store_err!r}): the '
                f'launcher or the store host died')
    limit = (f' (env_cfg.dist_cfg.timeout={timeout_s:g} s)'
             if timeout_s else '')
    if not missing:
        return (f'rank {rank}: a collective failed{limit} ({first_line}); '
                f'every rank answered the roll call afterwards, so a rank '
                f'was late rather than stuck: raise the timeout if this '
                f'repeats')
    return (f'rank {rank}: a collective failed{limit} ({first_line}); '
            f'rank(s) {missing} did not answer a roll call within '
            f'{grace:g} s: they hang or died (torchrun\'s summary gives the '
            f'exit code of a dead one)')
