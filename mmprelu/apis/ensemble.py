"""Ensembles of classifiers: Table 7's 4.94 % top-5 is "a combination of
six models". ``tools/ensemble_test.py`` tests each (config, checkpoint)
member under one test protocol and averages the members' softmax scores
per image.

The paper does not say how it combined the models (our choice): the plain
mean of the members' class probabilities, the same rule as for the views of
one model (§5.1, ``AverageClsScoreTTA``), no weights.

The per-image results have the format of ``tools/test.py --out`` (a list of
mmpretrain ``DataSample`` dicts): the first member's fields (``img_path``,
``gt_label``, ``sample_idx``, ...) with ``pred_score`` replaced by the
average and ``pred_label`` by its argmax.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.evaluator import DumpResults

__all__ = [
    'member_classes', 'check_same_classes', 'ScoreCollector', 'ScoreAverager',
    'topk_accuracy'
]


def member_classes(cfg, checkpoint: str) -> Optional[Tuple[str, ...]]:
    """The class names a member predicts: the checkpoint's
    ``meta.dataset_meta.classes`` (what it was trained on), else the
    test dataset's ``metainfo.classes`` in the config, else None."""
    from mmengine.runner.checkpoint import CheckpointLoader
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    classes = (meta.get('dataset_meta') or {}).get('classes')
    if classes is None:
        dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
        classes = (dataset.get('metainfo') or {}).get('classes')
    return None if classes is None else tuple(str(c) for c in classes)


def check_same_classes(members: Sequence[Tuple[str, str]],
                       classes: Sequence[Optional[Sequence[str]]]) -> None:
    """Raise ``ValueError`` naming the files unless every member with a
    known class list has the same one (same names, same order)."""
    known = [(m, tuple(c)) for m, c in zip(members, classes) if c is not None]
    if len({c for _, c in known}) <= 1:
        return

    def show(c):
        return f'{len(c)} classes {list(c[:5])}{"..." if len(c) > 5 else ""}'

    lines = '; '.join(f'{cfg} + {ckpt}: {show(c)}' for (cfg, ckpt), c in known)
    raise ValueError(f'ensemble members have different class lists, their '
                     f'scores cannot be averaged: {lines}')


class ScoreCollector(DumpResults):
    """mmengine's ``DumpResults`` (every test sample's result dict, on the
    CPU) handing the results to ``sink`` (a list) instead of a file and
    reporting nothing: appended to a Runner's test evaluator."""

    default_prefix = 'ensemble'

    def __init__(self, sink: list) -> None:
        super().__init__(out_file_path='unused.pkl')
        self.sink = sink

    def compute_metrics(self, results: list) -> dict:
        self.sink.extend(results)
        return {}


class ScoreAverager:
    """Running mean of the members' ``pred_score`` per image; checks that
    every member saw the same images in the same order."""

    def __init__(self) -> None:
        self.results: List[dict] = []
        self.sums: List[torch.Tensor] = []
        self.count = 0
        self.first_name = ''

    @staticmethod
    def _key(result: dict):
        gt = result.get('gt_label')
        gt = None if gt is None else torch.as_tensor(gt).flatten().tolist()
        return result.get('img_path', result.get('sample_idx')), gt

    def add(self, name: str, results: List[dict]) -> None:
        if not self.count:
            self.results = [dict(r) for r in results]
            self.sums = [
                torch.as_tensor(r['pred_score'], dtype=torch.float64)
                for r in results
            ]
            self.first_name, self.count = name, 1
            return
        if len(results) != len(self.results):
            raise ValueError(
                f'{name} tested {len(results)} images, {self.first_name} '
                f'{len(self.results)}: the members must use the same test '
                f'set (test_dataloader)')
        for i, (mine, theirs) in enumerate(zip(self.results, results)):
            if self._key(mine) != self._key(theirs):
                raise ValueError(
                    f'image {i} differs between {self.first_name} '
                    f'{self._key(mine)} and {name} {self._key(theirs)}: the '
                    f'members must test the same images in the same order')
            score = torch.as_tensor(theirs['pred_score'], dtype=torch.float64)
            if score.shape != self.sums[i].shape:
                raise ValueError(f'{name}: {score.numel()} scores per image, '
                                 f'{self.first_name}: {self.sums[i].numel()}')
            self.sums[i] += score
        self.count += 1

    def averaged(self) -> List[dict]:
        """The results with ``pred_score`` the mean over the members (float32,
        like a model's) and ``pred_label`` its argmax."""
        out = []
        for result, total in zip(self.results, self.sums):
            score = (total / self.count).to(torch.float32)
            out.append(
                dict(
                    result,
                    pred_score=score,
                    pred_label=score.argmax(dim=-1, keepdim=True)))
        return out


def topk_accuracy(results: List[dict], topk: Sequence[int] = (1, 5)) -> dict:
    """``accuracy/top{k}`` (percent) of result dicts, as mmpretrain's
    ``Accuracy`` metric reports them (k capped at the number of classes)."""
    from mmpretrain.evaluation import Accuracy
    scores = torch.stack([torch.as_tensor(r['pred_score']) for r in results])
    target = torch.cat(
        [torch.as_tensor(r['gt_label']).flatten() for r in results])
    ks = tuple(sorted({min(k, scores.shape[1]) for k in topk}))
    values = Accuracy.calculate(scores, target, topk=ks)
    return {f'accuracy/top{k}': float(v[0]) for k, v in zip(ks, values)}
