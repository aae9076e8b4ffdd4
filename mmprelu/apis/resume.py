"""Which checkpoint ``tools/train.py`` resumes from: mmengine's choice
(``resume=True``: ``load_from`` if set, else the file ``last_checkpoint``
names), except that truncated or damaged newest checkpoints are skipped,
each named in a warning, for the newest complete one
(:func:`mmprelu.engine.checkpoint_files.find_resume_checkpoint`); with none
left the run starts from scratch and says so.

A restarted job (torchrun restart round > 0, a requeued Slurm job; see
:func:`mmprelu.apis.elastic.restart_reason`) resumes so without being
asked; a ``--resume CKPT`` is then used only when the work dir has no
usable checkpoint yet (restarted before its first save). Rank 0 checks the
files (reading each candidate once) and broadcasts its choice, so every rank
resumes from the same file; multi-node runs need the work dir on storage
every node sees, as mmengine's resume does.
"""
import logging
from typing import List, Optional, Tuple

from mmengine.dist import broadcast_object_list, get_rank

from mmprelu.engine.checkpoint_files import find_resume_checkpoint

__all__ = ['resolve_resume']


def _find(work_dir: str):
    found = list(find_resume_checkpoint(work_dir)) if get_rank() == 0 \
        else [None, []]
    broadcast_object_list(found, src=0)  # mmengine: no-op without a group
    return found


def resolve_resume(cfg,
                   restart: Optional[str] = None) -> List[Tuple[int, str]]:
    """Set ``cfg.resume`` and ``cfg.load_from`` (see the module docstring).

    Args:
        cfg (mmengine.Config): the training config (``work_dir`` set).
        restart (str, optional): why this is a restarted job (from
            :func:`~mmprelu.apis.elastic.restart_reason`), or None.

    Returns:
        list: ``(logging level, message)`` pairs to log once the Runner's
        logger exists.
    """
    resume = cfg.get('resume', False) is True
    given = cfg.get('load_from', None) if resume else None
    if restart is None and (not resume or given):
        return []  # mmengine's own behaviour
    why = restart or '--resume'
    path, skipped = _find(cfg.work_dir)
    notes = [(logging.WARNING, f'{why}: skipping checkpoint {bad}: {problem}')
             for bad, problem in skipped]
    path = path or given
    if path is not None:
        cfg.resume, cfg.load_from = True, path
        return notes + [(logging.INFO, f'{why}: resuming from {path}')]
    cfg.resume = False
    start = (f'from the weights of load_from={cfg.load_from}' if cfg.get(
        'load_from', None) else 'from scratch')
    return notes + [(logging.WARNING if skipped else logging.INFO,
                     f'{why}: no usable checkpoint in {cfg.work_dir}: '
                     f'training starts {start}')]
