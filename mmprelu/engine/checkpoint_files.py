"""Checkpoint files that are never half-written, and finding the newest
complete one to resume from.

* Writing: :class:`~mmprelu.engine.hooks.SafeCheckpointHook` has the Runner
  write ``<name>.part`` and then :func:`publish` flushes it to disk and
  renames it to ``<name>`` (``os.replace``: atomic on POSIX file systems,
  NFS included). A process killed while writing leaves only a ``.part``
  file, which no reader looks at; ``last_checkpoint`` is replaced the same
  way (:func:`write_text_atomically`).
* Checking: :func:`checkpoint_problem` opens the file as the zip archive
  ``torch.save`` writes and checks every member's CRC-32 (``zipfile``'s
  ``testzip``: reads the whole file, no unpickling; about 1 s per GB). A
  truncated file has no zip directory at its end; a damaged one fails a
  CRC. torch >= 2.6 can skip the CRCs when saving
  (``torch.serialization.config.save.compute_crc32=False``); such files
  would read as damaged, so keep the default.
* Choosing: :func:`find_resume_checkpoint` tries the checkpoints of a work
  dir newest first (modification time; the file ``last_checkpoint`` names,
  read by mmengine's ``find_latest_checkpoint``, and every
  ``epoch_<n>.pth`` / ``iter_<n>.pth`` of the work dir and of the folder
  ``last_checkpoint`` points into) and returns the first complete one with
  the ones it skipped and why. Other ``.pth`` files (``best_*``,
  published or pretrained weights) are never picked by themselves. A
  ``last_checkpoint`` naming a remote file (``s3://`` ...) is trusted as
  is.
"""
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional, Tuple

from mmengine.runner import find_latest_checkpoint

__all__ = [
    'PART_SUFFIX', 'checkpoint_problem', 'find_resume_checkpoint', 'publish',
    'write_text_atomically'
]

PART_SUFFIX = '.part'
CHECKPOINT_NAME = re.compile(r'^(epoch|iter)_\d+\.pth$')


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory or '.', os.O_RDONLY)
    except OSError:  # e.g. a file system that cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(part: str, final: str) -> None:
    """Flush ``part`` to disk and rename it to ``final`` (replacing it)."""
    with open(part, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(part, final)
    _fsync_dir(osp.dirname(final))


def write_text_atomically(path: str, text: str) -> None:
    """Write ``path`` so that readers see the old or the new text, never a
    truncated one."""
    part = path + PART_SUFFIX
    with open(part, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)
    _fsync_dir(osp.dirname(path))


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a complete checkpoint, or ``None`` if it is."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if not any(n.endswith('data.pkl') for n in names):
                return 'no data.pkl inside: not a torch.save file'
            bad = archive.testzip()
    except FileNotFoundError:
        return 'file not found'
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        return f'unreadable ({type(err).__name__}: {err}); truncated?'
    if bad is not None:
        return f'damaged: CRC mismatch in {bad}'
    return None


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return float('-inf')


def find_resume_checkpoint(
        work_dir: str) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """The newest complete checkpoint of ``work_dir`` (see the module
    docstring) and the ``(path, problem)`` of newer ones skipped."""
    pointed = find_latest_checkpoint(work_dir) or None
    if pointed is not None and '://' in pointed:
        return pointed, []  # remote storage: mmengine's backend reads it
    candidates = {}
    folders = {osp.abspath(work_dir)}
    if pointed is not None:
        candidates[osp.abspath(pointed)] = None
        folders.add(osp.dirname(osp.abspath(pointed)))
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if CHECKPOINT_NAME.match(name):
                candidates[osp.join(folder, name)] = None
    ordered = sorted(candidates, key=lambda p: (_mtime(p), p), reverse=True)
    skipped = []
    for path in ordered:
        problem = checkpoint_problem(path)
        if problem is None:
            return path, skipped
        skipped.append((path, problem))
    return None, skipped
