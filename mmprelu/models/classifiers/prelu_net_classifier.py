"""PReLU-net classifier with the paper's test protocols (§5.1)."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample

from mmprelu.registry import MODELS
from ..utils.dense import (dense_logits_conv, dense_logits_windows,
                           window_grid)

TEST_MODES = ('whole', 'dense')
DENSE_IMPLS = ('auto', 'conv', 'windows')


@MODELS.register_module()
class PReLUNetClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` (same training path) whose
    ``predict`` implements the views of §5.1 on whatever image the test
    pipeline gives it:

    * ``test_cfg=dict(mode='whole')`` (default): the conv trunk on the whole
      input, SPP over the whole feature map (SPP-net's full-image view; on a
      224 centre crop this is the usual single-crop test, and with a
      10-crop ``tta_pipeline`` it is the 10-view test).
    * ``test_cfg=dict(mode='dense', window=14, stride=1)``: the conv trunk
      once on the whole image; every ``window x window`` sub-map of the last
      feature map (``stride`` cells apart) is SPP-pooled and classified; the
      softmax scores of all windows are averaged. A map smaller than the
      window along an axis uses the whole axis (so a small scale gives one
      window). Flips and scales are views of mmengine's test-time
      augmentation, whose scores ``AverageClsScoreTTA`` averages (the paper
      does not give its fusion rule; we average softmax scores).
      ``dense_impl``: ``'conv'`` (fast; SPP-net bin rule only), ``'windows'``
      (explicit windows, ``chunk`` at a time) or ``'auto'`` (default:
      ``'windows'`` when all windows fit in one chunk or the neck is not
      in SPP-net mode, else ``'conv'``; measured on model A at s = 256,
      24 windows, explicit windows were 1.2x faster than the conv form,
      while at s = 384, 209 windows, the conv form was faster).

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

    ``pred_score`` of each sample holds averaged softmax probabilities.
    """

    def __init__(self, *args, test_cfg: Optional[dict] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.test_cfg = self._check_test_cfg(test_cfg or {})
        finest = max(getattr(self.neck, 'levels', (1, )))
        if self.test_cfg['window'] < finest:
            raise ValueError(
                f"test_cfg.window={self.test_cfg['window']} is smaller than "
                f'the finest SPP level ({finest}); a window must hold at '
                f'least {finest}x{finest} cells')

    @staticmethod
    def _check_test_cfg(test_cfg: dict) -> dict:
        cfg = dict(mode='whole', window=14, stride=1, dense_impl='auto',
                   chunk=64)
        unknown = set(test_cfg) - set(cfg)
        if unknown:
            raise ValueError(f'test_cfg: unknown keys {sorted(unknown)}; '
                             f'valid keys: {sorted(cfg)}')
        cfg.update(test_cfg)
        if cfg['mode'] not in TEST_MODES:
            raise ValueError(f"test_cfg: unknown mode {cfg['mode']!r}; "
                             f'valid: {TEST_MODES}')
        if cfg['dense_impl'] not in DENSE_IMPLS:
            raise ValueError(f"test_cfg: unknown dense_impl "
                             f"{cfg['dense_impl']!r}; valid: {DENSE_IMPLS}")
        for key in ('window', 'stride', 'chunk'):
            if not isinstance(cfg[key], int) or cfg[key] < 1:
                raise ValueError(f'test_cfg.{key} must be a positive int, '
                                 f'got {cfg[key]!r}')
        return cfg

    def image_scores(self, fmap: torch.Tensor) -> torch.Tensor:
        """Averaged softmax scores of one image's feature map (1, C, H, W)
        under ``test_cfg``."""
        cfg = self.test_cfg
        if cfg['mode'] == 'whole':
            logits = self.head(self.neck((fmap, )))
        else:
            impl = cfg['dense_impl']
            if impl == 'auto':
                _, _, rows, cols = window_grid(*fmap.shape[-2:],
                                               cfg['window'], cfg['stride'])
                few = rows * cols <= cfg['chunk']
                impl = 'windows' if few or self.neck.mode != 'sppnet' \
                    else 'conv'
            if impl == 'conv':
                logits = dense_logits_conv(fmap, self.neck, self.head,
                                           cfg['window'], cfg['stride'])
            else:
                logits = dense_logits_windows(fmap, self.neck, self.head,
                                              cfg['window'], cfg['stride'],
                                              cfg['chunk'])
        return F.softmax(logits, dim=1).mean(dim=0)

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
        scores: List[Optional[torch.Tensor]] = [None] * len(inputs)
        for shape, indices in self.shape_groups(inputs, data_samples):
            fmap = self.backbone(self.group_inputs(inputs, shape,
                                                   indices))[-1]
            if self.test_cfg['mode'] == 'whole':
                group = F.softmax(self.head(self.neck((fmap, ))), dim=1)
            else:
                group = [self.image_scores(fmap[j:j + 1])
                         for j in range(len(indices))]
            for i, score in zip(indices, group):
                scores[i] = score
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(scores))]
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score).set_pred_label(
                score.argmax(keepdim=True))
        return data_samples
