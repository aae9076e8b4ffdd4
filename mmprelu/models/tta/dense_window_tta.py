"""The dense sliding-window test of §5.1 ("multi-view testing on feature
maps", from SPP-net and OverFeat) as a test-time-augmentation model."""
from typing import List, Optional

import torch
from mmpretrain.models.heads import StackedLinearClsHead
from mmpretrain.models.tta import AverageClsScoreTTA
from mmpretrain.structures import DataSample

from mmprelu.registry import MODELS
from ..classifiers.prelu_net_classifier import predict_by_shape
from ..necks.spp import SpatialPyramidPooling
from ..utils.dense import dense_logits_conv, dense_logits_windows, window_grid

DENSE_IMPLS = ('auto', 'conv', 'windows')


@MODELS.register_module()
class DenseWindowTTA(AverageClsScoreTTA):
    """mmpretrain's ``AverageClsScoreTTA`` whose views are scored by the
    dense test instead of the wrapped classifier's ``predict``.

    For every view of the ``tta_pipeline`` (the whole image at each scale,
    and its flip): the wrapped classifier's conv trunk runs once on the
    whole image (``extract_feat(stage='backbone')``); every ``window x
    window`` sub-map of the last feature map (``stride`` cells apart) is
    pooled by the classifier's :class:`SpatialPyramidPooling` neck and
    classified by its head; the softmax scores of the windows are averaged.
    A map smaller than the window along an axis uses the whole axis (a
    small scale gives one window). Then, as upstream, the scores of the
    views are averaged (``merge_preds``; the paper does not give its fusion
    rule, we average softmax scores). Images of different shapes in one
    batch are scored at their own sizes, as by :class:`PReLUNetClassifier`.

    ``tools/test.py --tta`` (ours or mmpretrain's) with
    ``tta_model=dict(type='DenseWindowTTA', window=14)`` and a multi-scale
    ``tta_pipeline`` is the paper's dense test (Tables 4, 6);
    ``tools/test.py --protocol dense`` builds the same.

    Args:
        module (dict | nn.Module): The classifier (any ``ImageClassifier``
            with a :class:`SpatialPyramidPooling` neck).
        data_preprocessor (dict, optional): As ``BaseTTAModel``'s.
        window (int): Window side in cells of the last map. Defaults to 14
            (the map of a 224 crop of the PReLU-nets of Table 3).
        stride (int): Cells between windows. Defaults to 1.
        dense_impl (str): ``'conv'`` (dilated convolutions; SPP-net bin rule
            and a ``StackedLinearClsHead`` only), ``'windows'`` (explicit
            windows, ``chunk`` positions at a time) or ``'auto'`` (default:
            ``'windows'`` when all windows fit in one chunk or ``'conv'``
            does not apply, else ``'conv'``: on CPU the convolution reads
            fc1's weight in a new layout on every call, which costs more than
            it saves for a few windows; docs/performance.md).
        chunk (int): Window positions per step of ``'windows'``. Defaults
            to 64.
    """

    def __init__(self,
                 module,
                 data_preprocessor=None,
                 window: int = 14,
                 stride: int = 1,
                 dense_impl: str = 'auto',
                 chunk: int = 64) -> None:
        super().__init__(module, data_preprocessor)
        for key, value in dict(
                window=window, stride=stride, chunk=chunk).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'DenseWindowTTA: {key} must be a positive '
                                 f'int, got {value!r}')
        if dense_impl not in DENSE_IMPLS:
            raise ValueError(f'DenseWindowTTA: unknown dense_impl '
                             f'{dense_impl!r}; valid: {DENSE_IMPLS}')
        neck = getattr(self.module, 'neck', None)
        if not isinstance(neck, SpatialPyramidPooling):
            raise ValueError(
                "DenseWindowTTA slides windows over the SPP layer: the model "
                "needs neck=dict(type='SpatialPyramidPooling', ...), got "
                f"neck={type(neck).__name__}; use "
                "tta_model=dict(type='AverageClsScoreTTA') (whole images)")
        if window < max(neck.levels):
            raise ValueError(
                f'DenseWindowTTA: window={window} is smaller than the finest '
                f'SPP level ({max(neck.levels)}); a window must hold at '
                f'least {max(neck.levels)}x{max(neck.levels)} cells')
        self.conv_applies = (
            neck.mode == 'sppnet'
            and isinstance(self.module.head, StackedLinearClsHead))
        if dense_impl == 'conv' and not self.conv_applies:
            raise ValueError(
                "DenseWindowTTA: dense_impl='conv' needs the SPP-net bin "
                "rule (neck mode='sppnet') and a StackedLinearClsHead, got "
                f'mode={neck.mode!r} and {type(self.module.head).__name__}; '
                "use dense_impl='windows' or 'auto'")
        self.window, self.stride = window, stride
        self.dense_impl, self.chunk = dense_impl, chunk

    def test_step(self, data) -> List[DataSample]:
        """``BaseTTAModel.test_step`` with the dense test in place of the
        classifier's ``test_step`` on each view (``TestTimeAug`` data
        collated by ``pseudo_collate``: one entry per view and key)."""
        views = [dict(zip(data, view)) for view in zip(*data.values())]
        return self.merge_preds(
            list(
                zip(*[
                    self.predict(**self.module.data_preprocessor(view, False))
                    for view in views
                ])))

    def predict(
            self,
            inputs: torch.Tensor,
            data_samples: Optional[List[DataSample]] = None
    ) -> List[DataSample]:
        """The dense test of one batch of preprocessed images (padded
        images of different shapes each at their own size)."""
        return predict_by_shape(self._predict, inputs, data_samples)

    def _predict(self, inputs, data_samples):
        model = self.module
        # upstream's trunk step; the head's layers then run on the windows
        # (utils/dense.py), not head.predict, which gives one softmax per
        # row of logits where the dense test averages those of every window
        fmap = model.extract_feat(inputs, stage='backbone')[-1]
        if self.impl_for(fmap) == 'conv':
            logits = dense_logits_conv(fmap, model.neck, model.head,
                                       self.window, self.stride)
        else:
            logits = dense_logits_windows(fmap, model.neck, model.head,
                                          self.window, self.stride, self.chunk)
        scores = logits.softmax(dim=2).mean(dim=1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(scores))]
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score).set_pred_label(
                score.argmax(keepdim=True))
        return data_samples

    def impl_for(self, fmap: torch.Tensor) -> str:
        """The implementation ``dense_impl`` picks for ``fmap``."""
        if self.dense_impl != 'auto':
            return self.dense_impl
        _, _, rows, cols = window_grid(*fmap.shape[-2:], self.window,
                                       self.stride)
        few = rows * cols <= self.chunk
        return 'windows' if few or not self.conv_applies else 'conv'
