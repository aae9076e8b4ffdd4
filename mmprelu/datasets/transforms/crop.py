"""Crop at a named position, for the 10-view test (§5.1, AlexNet [16])."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmprelu.registry import TRANSFORMS

POSITIONS = ('center', 'top_left', 'top_right', 'bottom_left',
             'bottom_right')


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
        if len(crop_size) != 2 or any(
                not isinstance(c, int) or c < 1 for c in crop_size):
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
