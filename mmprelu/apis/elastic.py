"""Restarted and failing multi-process jobs (torchrun's elastic agent, Slurm).

Three pieces used by :mod:`mmprelu.apis.launch` and ``tools/train.py``:

* :func:`restart_reason`: whether this process belongs to a restarted job
  (``TORCHELASTIC_RESTART_COUNT`` > 0: torchrun restarted the worker group;
  ``SLURM_RESTART_COUNT`` > 0: Slurm requeued the job). ``tools/train.py``
  then resumes by itself.
* :func:`create_store`: the key-value store the process group meets in.
  torchrun's agent keeps one store for the whole job and hands the same
  ``MASTER_ADDR:MASTER_PORT`` to every restart round
  (``TORCHELASTIC_USE_AGENT_STORE=True``), and ``init_process_group`` writes
  the same keys in every round. A restarted rank then reads the previous
  round's entries: gloo dials the dead ranks' addresses ("connectFullMesh
  failed ... Connection refused") or hangs, whichever rank comes first
  (measured with torch 2.14, c10d and static rendezvous). Two cures:

  - ``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1`` (torch's own switch, set by
    ``tools/dist_train.sh`` when ``MAX_RESTARTS`` > 0, with the c10d
    rendezvous): every round gets a fresh store, hosted by that round's
    rank 0 on a port the agents agree on through the rendezvous. Works for
    any number of nodes and for NCCL too.
  - Otherwise, on one node (``GROUP_WORLD_SIZE`` = 1, a single agent, so its
    restart count is the same for every rank), the keys get a per-round
    prefix ``mmprelu/attempt_<TORCHELASTIC_RESTART_COUNT>``. With several
    nodes the agents' counts disagree (an agent restarted because another
    node re-joined does not count a restart), so no prefix is safe there:
    a warning names the switch above.

  torch 2.1 differs (:func:`mmprelu.compat.torch_keys_restart_rounds_apart`):
  its c10d rendezvous never shares the agent's store (each round's rank 0
  hosts a fresh one on a new port, without the switch, which 2.1 does not
  know), and under the static rendezvous its ``env://`` already prefixes
  the agent store's keys per round (``/worker/attempt_<n>/``), so no
  prefix of ours is added there.
* :func:`explain_collective_failure`: after a collective timed out (a rank
  hangs) or lost its peer (a rank died), the surviving ranks call the roll
  in the store and the error names the ranks that did not answer.
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


def store_prefix() -> Optional[str]:
    """The per-round key prefix (see the module docstring), or ``None``."""
    if os.environ.get(AGENT_STORE_ENV) != 'True':
        return None  # not torchrun, or a fresh store per round
    if _int_env('GROUP_WORLD_SIZE', 1) > 1:
        if _int_env('TORCHELASTIC_MAX_RESTARTS') > 0:
            print_log(
                f'torchrun restarts of a multi-node job with the agent\'s '
                f'shared store reconnect to the previous round\'s addresses; '
                f'launch with --rdzv-backend=c10d and {FRESH_STORE_ENV}=1 '
                f'(tools/dist_train.sh does both when MAX_RESTARTS > 0)',
                logger='current', level=30)
        return None
    if compat.torch_keys_restart_rounds_apart():
        return None  # torch 2.1: env:// prefixes them itself
    return f'mmprelu/attempt_{_int_env("TORCHELASTIC_RESTART_COUNT")}'


def create_store(rank: int, world_size: int,
                 timeout: datetime.timedelta):
    """The store for ``init_process_group(store=...)``, from ``MASTER_ADDR``
    and ``MASTER_PORT`` like ``init_method='env://'`` (torch's own
    ``rendezvous``), with the per-round prefix where one is needed."""
    store, _, _ = next(torch_dist.rendezvous(
        'env://', rank=rank, world_size=world_size, timeout=timeout))
    store.set_timeout(timeout)
    prefix = store_prefix()
    return torch_dist.PrefixStore(prefix, store) if prefix else store


def unresponsive_ranks(rank: int, world_size: int,
                       grace: float) -> List[int]:
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
        store = create_store(rank, world_size, timeout)
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
