"""Crop at a named position, for the 10-view test (§5.1, AlexNet [16]),
and the centre crop of extreme aspect ratios (our choice, training only)."""
import logging

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmprelu.registry import TRANSFORMS

POSITIONS = ('center', 'top_left', 'top_right', 'bottom_left', 'bottom_right')


@TRANSFORMS.register_module()
class PositionalCrop(BaseTransform):
    """Crop ``crop_size`` pixels at one of the four corners or the centre.

    mmpretrain has random and centre crops only; the 10-view test needs the
    four corners too. Used inside a ``TestTimeAug`` as five alternatives,
    each followed by flip off / on: 10 views.

    An image smaller than the crop along an axis keeps that whole axis (our
    choice: the view is then smaller, never an error; the classifier's SPP
    accepts any size).

    Required keys: ``img``. Modified keys: ``img``, ``img_shape``. Added
    key: ``crop_position``.

    Args:
        crop_size (int | tuple[int, int]): ``(h, w)`` or one int for both.
        position (str): one of ``center``, ``top_left``, ``top_right``,
            ``bottom_left``, ``bottom_right``.
    """

    def __init__(self, crop_size, position: str = 'center') -> None:
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        crop_size = tuple(crop_size)
        if len(crop_size) != 2 or any(not isinstance(c, int) or c < 1
                                      for c in crop_size):
            raise ValueError(f'PositionalCrop: crop_size must be a positive '
                             f'int or (h, w), got {crop_size!r}')
        if position not in POSITIONS:
            raise ValueError(f'PositionalCrop: unknown position '
                             f'{position!r}; valid: {POSITIONS}')
        self.crop_size = crop_size
        self.position = position

    def offsets(self, height: int, width: int):
        """Top-left corner and size of the crop in an image of this size."""
        ch, cw = min(self.crop_size[0], height), min(self.crop_size[1], width)
        vertical, _, horizontal = self.position.partition('_')
        if self.position == 'center':
            return (height - ch) // 2, (width - cw) // 2, ch, cw
        y = 0 if vertical == 'top' else height - ch
        x = 0 if horizontal == 'left' else width - cw
        return y, x, ch, cw

    def transform(self, results: dict) -> dict:
        img = results['img']
        y, x, ch, cw = self.offsets(*img.shape[:2])
        results['img'] = np.ascontiguousarray(img[y:y + ch, x:x + cw])
        results['img_shape'] = (ch, cw)
        results['crop_position'] = self.position
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'position={self.position!r})')


@TRANSFORMS.register_module()
class LimitAspectRatio(BaseTransform):
    """Centre-crop the long side of an image to at most ``max_ratio`` times
    its short side (``round(max_ratio * short)`` pixels, at least 1).

    The paper is silent; our choice, for training pipelines: a 1 x 4000
    image resized to a shorter side of 256 would be 256 x 1,024,000 pixels
    (750 MiB), and such images carry little object content outside their
    centre. It changes what is seen, so the test pipelines leave it out
    unless asked for. Each file it crops is logged once per process.

    Required keys: ``img``. Modified keys: ``img``, ``img_shape``
    (``ori_shape`` stays the file's).

    Args:
        max_ratio (float): the largest long / short side ratio kept, >= 1
            (``float('inf')``: never crop). Defaults to 10.
    """

    def __init__(self, max_ratio: float = 10.) -> None:
        if (not isinstance(max_ratio, (int, float))
                or isinstance(max_ratio, bool) or not max_ratio >= 1):
            raise ValueError(f'LimitAspectRatio: max_ratio must be a number '
                             f'>= 1, got {max_ratio!r}')
        self.max_ratio = max_ratio
        self._logged = set()

    def transform(self, results: dict) -> dict:
        img = results['img']
        height, width = img.shape[:2]
        short, long = min(height, width), max(height, width)
        if long <= self.max_ratio * short:  # (max_ratio may be inf)
            return results
        keep = max(1, int(round(self.max_ratio * short)))
        if long <= keep:
            return results
        start = (long - keep) // 2
        if height > width:
            img = img[start:start + keep]
        else:
            img = img[:, start:start + keep]
        results['img'] = np.ascontiguousarray(img)
        results['img_shape'] = img.shape[:2]
        name = str(results.get('img_path', '<array>'))
        if name not in self._logged:
            self._logged.add(name)
            print_log(
                f'LimitAspectRatio: {name}: {height}x{width} image '
                f'centre-cropped to {img.shape[0]}x{img.shape[1]} '
                f'(long side at most {self.max_ratio} x the short '
                f'side)',
                logger='current',
                level=logging.INFO)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(max_ratio={self.max_ratio})'
