"""Dumping test predictions (``tools/test.py --out``).

mmengine's ``DumpResults`` metric writes pickle files only;
:class:`DumpPredictions` also writes JSON, turning tensors and numpy arrays
into (nested) lists, so that results can be read without torch.
"""
from typing import Any

import numpy as np
import torch
from mmengine.evaluator import DumpResults
from mmengine.fileio import dump
from mmengine.logging import print_log

PICKLE_SUFFIXES = ('.pkl', '.pickle')
OUT_SUFFIXES = PICKLE_SUFFIXES + ('.json', )


def to_builtin(data: Any) -> Any:
    """``data`` with tensors / numpy values replaced by Python numbers and
    lists (dict keys and tuples kept as JSON allows)."""
    if isinstance(data, torch.Tensor):
        return data.detach().cpu().tolist()
    if isinstance(data, np.ndarray):
        return data.tolist()
    if isinstance(data, np.generic):
        return data.item()
    if isinstance(data, dict):
        return {str(k): to_builtin(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [to_builtin(v) for v in data]
    return data


def check_out_file(path: str) -> str:
    """Raise a ``ValueError`` naming ``path`` unless its suffix is one we
    can write."""
    if not str(path).lower().endswith(OUT_SUFFIXES):
        raise ValueError(f'--out {path!r}: the output file must end with '
                         f'one of {OUT_SUFFIXES}')
    return str(path)


class DumpPredictions(DumpResults):
    """``DumpResults`` that also accepts a ``.json`` ``out_file_path``.

    A list with one dict per test sample (the data sample's fields: e.g.
    ``pred_score``, ``pred_label``, ``gt_label``, ``img_path``) is written
    by rank 0 after results are collected from every rank.
    """

    def __init__(self, out_file_path: str, **kwargs) -> None:
        path = check_out_file(out_file_path)
        # DumpResults checks for a pickle suffix; give it one, keep ours
        super().__init__(out_file_path='results.pkl', **kwargs)
        self.out_file_path = path

    def compute_metrics(self, results: list) -> dict:
        if self.out_file_path.lower().endswith('.json'):
            dump(to_builtin(results), self.out_file_path)
            print_log(f'Predictions saved to {self.out_file_path}',
                      logger='current')
            return {}
        return super().compute_metrics(results)
