"""PReLU-net classifier with the paper's test protocols (§5.1)."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample

from mmprelu.registry import MODELS
from ..necks.spp import SpatialPyramidPooling
from ..utils.dense import (dense_logits_conv, dense_logits_windows,
                           window_grid)

TEST_MODES = ('whole', 'dense')
DENSE_IMPLS = ('auto', 'conv', 'windows')


@MODELS.register_module()
class PReLUNetClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` (same arguments, same training
    path) whose ``predict`` implements the views of §5.1 on whatever image
    the test pipeline gives it, chosen by its own ``test_cfg``:

    * ``test_cfg=dict(mode='whole')`` (default): upstream's ``predict``
      (``extract_feat``, then ``head.predict(feats, data_samples,
      **kwargs)``) on the whole input; with an SPP neck, SPP-net's
      full-image view (on a 224 centre crop the usual single-crop test, with
      a 10-crop ``tta_pipeline`` the 10-view test). Any neck, or none.
    * ``test_cfg=dict(mode='dense', window=14, stride=1)`` (needs a
      :class:`SpatialPyramidPooling` neck): the conv trunk once on the whole
      image (``extract_feat(stage='backbone')``); every ``window x window``
      sub-map of the last feature map (``stride`` cells apart) is
      SPP-pooled and classified; the softmax scores of all windows are
      averaged. A map smaller than the window along an axis uses the whole
      axis (so a small scale gives one window). Flips and scales are views
      of mmengine's test-time augmentation, whose scores
      ``AverageClsScoreTTA`` averages (the paper does not give its fusion
      rule; we average softmax scores). ``dense_impl``: ``'conv'``
      (dilated convolutions; SPP-net bin rule only), ``'windows'``
      (explicit windows, ``chunk`` positions at a time) or ``'auto'``
      (default: ``'windows'`` when all windows fit in one chunk or the neck
      is in ``'adaptive'`` mode, else ``'conv'``: on CPU the convolution
      reads fc1's weight in a new layout on every call, which costs more
      than it saves for a few windows; docs/performance.md).

    Images of different sizes in one batch (whole images of a real val set,
    collated with ``pseudo_collate``): the data preprocessor pads them to a
    common size, and padding would leak into convolutions near the border,
    SPP bins and windows. So the images are grouped by their samples'
    ``img_shape``; each group is cropped to its shape (the padding is cut
    off) and runs as one batch. Every image thus gets the scores it would
    get alone (equal up to float rounding, checked to 1e-5), at the cost of
    one trunk pass per distinct shape. A batch of equal shapes (centre
    crops, validation during training) is one group and runs as before,
    without a copy.

    ``pred_score`` of each sample holds (averaged) softmax probabilities.
    """

    def __init__(self, *args, test_cfg: Optional[dict] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.test_cfg = self._check_test_cfg(test_cfg or {})

    def _check_test_cfg(self, test_cfg: dict) -> dict:
        cfg = dict(mode='whole', window=14, stride=1, dense_impl='auto',
                   chunk=64)
        unknown = set(test_cfg) - set(cfg)
        if unknown:
            raise ValueError(f'test_cfg: unknown keys {sorted(unknown)}; '
                             f'valid keys: {sorted(cfg)}')
        cfg.update(test_cfg)
        for key, valid in (('mode', TEST_MODES), ('dense_impl', DENSE_IMPLS)):
            if cfg[key] not in valid:
                raise ValueError(f'test_cfg: unknown {key} {cfg[key]!r}; '
                                 f'valid: {valid}')
        for key in ('window', 'stride', 'chunk'):
            if not isinstance(cfg[key], int) or cfg[key] < 1:
                raise ValueError(f'test_cfg.{key} must be a positive int, '
                                 f'got {cfg[key]!r}')
        spp = isinstance(self.neck, SpatialPyramidPooling)
        if cfg['mode'] == 'dense' and not spp:
            raise ValueError(
                "test_cfg mode='dense' slides windows over the SPP layer: it "
                "needs neck=dict(type='SpatialPyramidPooling', ...), got "
                f'neck={type(self.neck).__name__}; use mode=\'whole\'')
        if spp and cfg['window'] < max(self.neck.levels):
            finest = max(self.neck.levels)
            raise ValueError(
                f"test_cfg.window={cfg['window']} is smaller than the finest "
                f'SPP level ({finest}); a window must hold at least '
                f'{finest}x{finest} cells')
        if spp and cfg['dense_impl'] == 'conv' and self.neck.mode != 'sppnet':
            raise ValueError("test_cfg.dense_impl='conv' needs the SPP-net "
                             f"bin rule, the neck has mode={self.neck.mode!r};"
                             " use dense_impl='windows' or 'auto'")
        return cfg

    @staticmethod
    def shape_groups(inputs: torch.Tensor,
                     data_samples: Optional[List[DataSample]]
                     ) -> List[Tuple[Tuple[int, int], List[int]]]:
        """``[((h, w), indices), ...]``: the images of each distinct
        ``img_shape`` (first-seen order). Samples without ``img_shape``, or
        no samples, take the input's size."""
        full = tuple(inputs.shape[-2:])
        groups: Dict[Tuple[int, int], List[int]] = {}
        for i in range(len(inputs)):
            meta = data_samples[i].metainfo if data_samples else {}
            shape = tuple(meta.get('img_shape', full))[:2]
            if shape[0] > full[0] or shape[1] > full[1]:
                raise ValueError(
                    f'PReLUNetClassifier: sample {i} has img_shape {shape} '
                    f'but the batch is only {full[0]}x{full[1]}')
            groups.setdefault(shape, []).append(i)
        return list(groups.items())

    def group_inputs(self, inputs: torch.Tensor, shape: Tuple[int, int],
                     indices: List[int]) -> torch.Tensor:
        """The images ``indices`` of ``inputs`` cropped to ``shape``
        (``inputs`` itself when that is the whole batch)."""
        if len(indices) < len(inputs):
            inputs = inputs[indices]
        if shape != tuple(inputs.shape[-2:]):
            inputs = inputs[..., :shape[0], :shape[1]]
        return inputs

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Upstream's ``predict`` (``extract_feat``, then ``head.predict``
        with ``kwargs``) per group of equal ``img_shape``, or the dense test
        of ``test_cfg``."""
        results: List[Optional[DataSample]] = [None] * len(inputs)
        for shape, indices in self.shape_groups(inputs, data_samples):
            group = self.group_inputs(inputs, shape, indices)
            samples = ([data_samples[i] for i in indices]
                       if data_samples else None)
            if self.test_cfg['mode'] == 'whole':
                out = super().predict(group, samples, **kwargs)
            else:
                out = self.dense_predict(group, samples, **kwargs)
            for i, sample in zip(indices, out):
                results[i] = sample
        return results

    def dense_predict(self, inputs: torch.Tensor,
                      data_samples: Optional[List[DataSample]] = None,
                      **kwargs) -> List[DataSample]:
        """The dense test of images of one size: softmax scores averaged
        over the windows of each image."""
        # Not head.predict: it gives one softmax per row of logits, and the
        # dense test averages the softmax scores of every window of an image
        # (§5.1); so the trunk runs through upstream's extract_feat and the
        # head's own layers run on the windows (utils/dense.py).
        if kwargs:
            raise TypeError("PReLUNetClassifier: test_cfg mode='dense' takes "
                            f'no predict arguments, got {sorted(kwargs)}')
        fmap = self.extract_feat(inputs, stage='backbone')[-1]
        cfg = self.test_cfg
        impl = cfg['dense_impl']
        if impl == 'auto':
            _, _, rows, cols = window_grid(*fmap.shape[-2:], cfg['window'],
                                           cfg['stride'])
            few = rows * cols <= cfg['chunk']
            impl = 'windows' if few or self.neck.mode != 'sppnet' else 'conv'
        if impl == 'conv':
            logits = dense_logits_conv(fmap, self.neck, self.head,
                                       cfg['window'], cfg['stride'])
        else:
            logits = dense_logits_windows(fmap, self.neck, self.head,
                                          cfg['window'], cfg['stride'],
                                          cfg['chunk'])
        scores = F.softmax(logits, dim=2).mean(dim=1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(scores))]
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score).set_pred_label(
                score.argmax(keepdim=True))
        return data_samples
