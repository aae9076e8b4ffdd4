"""PReLU-net classifier: mmpretrain's ``ImageClassifier`` that evaluates
every image of a mixed-shape batch at its own size (§5.1's full-image
views)."""
from typing import Dict, List, Optional, Tuple

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample

from mmprelu.registry import MODELS


def predict_by_shape(predict, inputs: torch.Tensor,
                     data_samples: Optional[List[DataSample]],
                     **kwargs) -> List[DataSample]:
    """``predict(images, samples, **kwargs)`` for each distinct
    ``img_shape`` of a padded batch, the images cropped to that shape (the
    padding cut off; ``inputs`` itself when it is one group of the batch's
    size); the results in batch order. Samples without ``img_shape``, or no
    samples, take the batch's size."""
    full = tuple(inputs.shape[-2:])
    groups: Dict[Tuple[int, int], List[int]] = {}
    for i in range(len(inputs)):
        meta = data_samples[i].metainfo if data_samples else {}
        shape = tuple(meta.get('img_shape', full))[:2]
        if shape[0] > full[0] or shape[1] > full[1]:
            raise ValueError(
                f'sample {i} has img_shape {shape} but the batch is only '
                f'{full[0]}x{full[1]}')
        groups.setdefault(shape, []).append(i)
    results: List[Optional[DataSample]] = [None] * len(inputs)
    for (height, width), indices in groups.items():
        images = inputs if len(indices) == len(inputs) else inputs[indices]
        samples = ([data_samples[i]
                    for i in indices] if data_samples else None)
        if (height, width) != full:
            images = images[..., :height, :width]
        for i, sample in zip(indices, predict(images, samples, **kwargs)):
            results[i] = sample
    return results


@MODELS.register_module()
class PReLUNetClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` (same arguments, same training and
    prediction steps) for batches of images of different sizes.

    Whole images of a real val set (the full-image views of §5.1, with an
    SPP neck SPP-net's full-image test) have many shapes; collated with
    ``pseudo_collate`` the data preprocessor pads them to a common size, and
    padding would leak into convolutions near the border, SPP bins and
    windows. So ``predict`` groups the images by their samples'
    ``img_shape``, crops each group to its shape and runs upstream's
    ``predict`` (``extract_feat``, then ``head.predict(feats, samples,
    **kwargs)``) on it. Every image gets the scores it would get alone
    (checked to 1e-5), at the cost of one trunk pass per distinct shape; a
    batch of one shape (centre crops, validation) is passed through as it
    is. The dense sliding-window test is a test-time model of its own,
    :class:`~mmprelu.models.tta.DenseWindowTTA`.
    """

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Upstream's ``predict`` per group of equal ``img_shape``."""
        return predict_by_shape(super().predict, inputs, data_samples,
                                **kwargs)
