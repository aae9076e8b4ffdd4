"""Dumping test predictions (``tools/test.py --out``) with mmengine's
``dump``, as pickle or JSON; JSON gets tensors as (nested) lists, so that
results can be read without torch."""
import numpy as np
import torch
from mmengine.evaluator import DumpResults
from mmengine.fileio import dump

OUT_SUFFIXES = ('.pkl', '.pickle', '.json')


def check_out_file(path: str) -> str:
    """Raise a ``ValueError`` naming ``path`` unless its suffix is one we
    can write."""
    if not str(path).lower().endswith(OUT_SUFFIXES):
        raise ValueError(f'--out {path!r}: the output file must end with '
                         f'one of {OUT_SUFFIXES}')
    return str(path)


def _json_default(obj):
    """``json``'s ``default`` for tensors and numpy values (mmengine's own
    default knows numpy only)."""
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.tolist()
    raise TypeError(f'{type(obj)} cannot be written to JSON')


def dump_results(results, path: str) -> None:
    """``results`` to ``path`` with mmengine's ``dump``, in the format of its
    suffix (see :data:`OUT_SUFFIXES`)."""
    suffix = check_out_file(path).rsplit('.', 1)[-1].lower()
    if suffix == 'json':
        dump(results, path, file_format='json', default=_json_default)
    else:
        dump(results, path, file_format='pkl')


class DumpPredictions(DumpResults):
    """mmengine's ``DumpResults`` that also writes ``.json``
    (:func:`dump_results`): a list with one dict per test sample (the data
    sample's fields: e.g. ``pred_score``, ``pred_label``, ``gt_label``,
    ``img_path``), written by rank 0 after results are collected from every
    rank."""

    def __init__(self, out_file_path: str, **kwargs) -> None:
        path = check_out_file(out_file_path)
        # DumpResults accepts pickle suffixes only: give it one, keep ours
        super().__init__(out_file_path='results.pkl', **kwargs)
        self.out_file_path = path

    def compute_metrics(self, results: list) -> dict:
        dump_results(results, self.out_file_path)
        return {}
