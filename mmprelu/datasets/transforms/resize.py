"""Scale jittering: resize one edge of the image to a random size (§3)."""
import numbers
from typing import Dict, Sequence, Tuple

import mmcv
import numpy as np
from mmcv.image.geometric import cv2_interp_codes, pillow_interp_codes
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmprelu.registry import TRANSFORMS

EDGES = ('short', 'long', 'width', 'height')
SAMPLINGS = ('int', 'uniform')
BACKENDS = {
    'cv2': tuple(cv2_interp_codes),
    'pillow': tuple(pillow_interp_codes)
}


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@TRANSFORMS.register_module()
class RandomResizeEdge(BaseTransform):
    """Resize an image so that one edge has a random length ``s``.

    The paper (He et al. 2015, §3 "Implementation Details") trains on 224x224
    crops of an image "resized with its shorter side randomly sampled in
    [256, 512]", the scale jittering of VGG [25], applied from the start of
    training. This transform draws ``s`` once per image and resizes so that
    the chosen edge is ``s`` while keeping the aspect ratio; follow it with
    ``RandomCrop(crop_size=224)``. With ``scale_range=(256, 256)`` it is the
    fixed-scale training of Table 2.

    Choices where the paper is silent:

    * ``sampling='int'`` (default) draws ``s`` uniformly from the integers
      ``min..max`` inclusive, as VGG's scale jittering does; ``'uniform'``
      draws a real number in ``[min, max]`` and rounds it.
    * The other edge is ``round(s * other / edge)`` (at least 1 pixel).
    * ``s`` comes from numpy's global generator, which mmengine seeds via
      ``randomness.seed`` (per worker), so runs are reproducible.

    Required keys: ``img``. Modified keys: ``img``, ``img_shape``. Added
    keys: ``scale`` (new ``(w, h)``), ``scale_factor`` (``(w_scale,
    h_scale)``), as mmcv's ``Resize`` sets them.

    Args:
        scale_range (Sequence[int | float]): ``(min, max)`` of ``s``, both
            positive, ``min <= max``. Integers for ``sampling='int'``.
            Defaults to ``(256, 512)`` (§3).
        edge (str): the edge resized to ``s``: ``'short'`` (default, as in
            the paper), ``'long'``, ``'width'`` or ``'height'`` (the same
            meanings as mmpretrain's ``ResizeEdge``).
        sampling (str): ``'int'`` or ``'uniform'``, see above.
        interpolation (str): as in ``mmcv.imresize``. Defaults to
            ``'bilinear'``.
        backend (str): ``'cv2'`` (default) or ``'pillow'``.
    """

    def __init__(self,
                 scale_range: Sequence = (256, 512),
                 edge: str = 'short',
                 sampling: str = 'int',
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        name = type(self).__name__
        if sampling not in SAMPLINGS:
            raise ValueError(f'{name}: unknown sampling={sampling!r}; '
                             f'valid: {SAMPLINGS}')
        if (isinstance(scale_range, (str, bytes))
                or not isinstance(scale_range, Sequence)
                or len(scale_range) != 2):
            raise ValueError(f'{name}: scale_range must be a (min, max) '
                             f'pair, got {scale_range!r}')
        kind = numbers.Integral if sampling == 'int' else numbers.Real
        if any(not _is_number(v) or not isinstance(v, kind)
               for v in scale_range):
            what = 'integers' if sampling == 'int' else 'numbers'
            raise ValueError(f'{name}: scale_range must hold two {what} '
                             f'with sampling={sampling!r}, got '
                             f'{scale_range!r}')
        low, high = scale_range
        if low <= 0 or high <= 0:
            raise ValueError(f'{name}: scale_range values must be positive, '
                             f'got {scale_range!r}')
        if low > high:
            raise ValueError(f'{name}: scale_range min > max in '
                             f'{scale_range!r}; give (min, max)')
        if edge not in EDGES:
            raise ValueError(f'{name}: unknown edge={edge!r}; valid: {EDGES}')
        if backend not in BACKENDS:
            raise ValueError(f'{name}: unknown backend={backend!r}; valid: '
                             f'{tuple(BACKENDS)}')
        if interpolation not in BACKENDS[backend]:
            raise ValueError(f'{name}: unknown interpolation='
                             f'{interpolation!r} for backend={backend!r}; '
                             f'valid: {BACKENDS[backend]}')
        if sampling == 'int':
            low, high = int(low), int(high)
        self.scale_range = (low, high)
        self.edge = edge
        self.sampling = sampling
        self.interpolation = interpolation
        self.backend = backend

    @cache_randomness
    def sample_size(self) -> int:
        """Draw the target length ``s`` of the chosen edge."""
        low, high = self.scale_range
        if self.sampling == 'int':
            return int(np.random.randint(low, high + 1))
        return max(1, int(round(np.random.uniform(low, high))))

    def target_shape(self, height: int, width: int,
                     size: int) -> Tuple[int, int]:
        """``(new_h, new_w)`` with the chosen edge equal to ``size``."""
        resize_width = (self.edge == 'width'
                        or (self.edge == 'short' and width < height)
                        or (self.edge == 'long' and width > height))
        if resize_width:
            return max(1, int(round(size * height / width))), size
        return size, max(1, int(round(size * width / height)))

    def transform(self, results: Dict) -> Dict:
        if results.get('img') is None:
            raise KeyError(f'{type(self).__name__}: results has no "img"; '
                           f'put a loading transform before it')
        img = results['img']
        height, width = img.shape[:2]
        new_h, new_w = self.target_shape(height, width, self.sample_size())
        img = mmcv.imresize(
            img, (new_w, new_h),
            interpolation=self.interpolation,
            backend=self.backend)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['scale'] = (new_w, new_h)
        results['scale_factor'] = (new_w / width, new_h / height)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale_range={self.scale_range}, '
                f'edge={self.edge!r}, sampling={self.sampling!r}, '
                f'interpolation={self.interpolation!r}, '
                f'backend={self.backend!r})')
