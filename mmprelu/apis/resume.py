"""Which checkpoint ``tools/train.py`` resumes from (issue 14).

* ``--resume CKPT``: that file (mmengine's own behaviour).
* ``--resume`` (or ``--resume auto``, or ``resume = True`` without
  ``load_from`` in the config): the newest *complete* checkpoint of the work
  dir (:func:`mmprelu.engine.checkpoint_files.find_resume_checkpoint`).
  Newer files that are truncated or damaged are skipped with a warning
  naming each one; with no usable checkpoint left the run starts from
  scratch (or from the config's ``load_from`` weights) and says so.
  mmengine would take whatever ``last_checkpoint`` names and fail on a
  truncated file.
* A restarted job (torchrun restart round > 0, a requeued Slurm job; see
  :func:`mmprelu.apis.elastic.restart_reason`) resumes like ``--resume``
  without being asked; an explicit ``--resume CKPT`` is then used only when
  the work dir has no usable checkpoint yet (the job was restarted before
  its first save).

Rank 0 checks the files (reading each candidate once) and broadcasts its
choice, so every rank resumes from the same file. Multi-node runs need the
work dir on storage every node sees, as mmengine's resume does.
"""
import logging
from typing import List, Optional, Tuple

from mmengine.dist import broadcast_object_list, get_rank, get_world_size

from mmprelu.engine.checkpoint_files import find_resume_checkpoint

__all__ = ['resolve_resume']


def _find(work_dir: str):
    found = [None, []]
    if get_rank() == 0:
        found = list(find_resume_checkpoint(work_dir))
    if get_world_size() > 1:
        broadcast_object_list(found, src=0)
    return found


def resolve_resume(cfg, requested: Optional[str],
                   restart: Optional[str] = None) -> List[Tuple[int, str]]:
    """Set ``cfg.resume`` and ``cfg.load_from`` for a resume request.

    Args:
        cfg (mmengine.Config): the training config (``work_dir`` set).
        requested (str, optional): ``--resume``'s value: None, ``'auto'`` or
            a checkpoint path.
        restart (str, optional): why this is a restarted job (from
            :func:`~mmprelu.apis.elastic.restart_reason`), or None.

    Returns:
        list: ``(logging level, message)`` pairs to log once the Runner's
        logger exists.
    """
    if requested is None and cfg.get('resume', False) is True:
        requested = cfg.get('load_from', None) or 'auto'
    if requested is None and restart is None:
        return []
    explicit = requested not in (None, 'auto')
    if explicit and restart is None:
        cfg.resume, cfg.load_from = True, requested
        return []
    why = restart or '--resume'
    path, skipped = _find(cfg.work_dir)
    notes = [(logging.WARNING,
              f'{why}: skipping checkpoint {bad}: {problem}')
             for bad, problem in skipped]
    if path is None and explicit:
        path = requested
    if path is not None:
        cfg.resume, cfg.load_from = True, path
        notes.append((logging.INFO, f'{why}: resuming from {path}'))
        return notes
    cfg.resume = False
    start = (f'from the weights of load_from={cfg.load_from}'
             if cfg.get('load_from', None) else 'from scratch')
    notes.append((logging.WARNING if skipped else logging.INFO,
                  f'{why}: no usable checkpoint in {cfg.work_dir}: training '
                  f'starts {start}'))
    return notes
