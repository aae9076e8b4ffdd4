import numpy as np
import pytest

from mmprelu.datasets.transforms.crop import POSITIONS, PositionalCrop


def image(h=6, w=8):
    return np.arange(
        h * w, dtype=np.uint8).reshape(h, w)[..., None].repeat(
            3, axis=2)


@pytest.mark.parametrize('position,corner', [('top_left', (0, 0)),
                                             ('top_right', (0, 4)),
                                             ('bottom_left', (2, 0)),
                                             ('bottom_right', (2, 4)),
                                             ('center', (1, 2))])
def test_crop_positions(position, corner):
    img = image()
    out = PositionalCrop(4, position)(dict(img=img))
    y, x = corner
    assert np.array_equal(out['img'], img[y:y + 4, x:x + 4])
    assert out['img_shape'] == (4, 4)
    assert out['crop_position'] == position


@pytest.mark.parametrize('position', POSITIONS)
def test_small_image_keeps_whole_axis(position):
    out = PositionalCrop((10, 3), position)(dict(img=image(6, 8)))
    assert out['img'].shape[:2] == (6, 3)


@pytest.mark.parametrize('kwargs,match', [
    (dict(crop_size=4, position='middle'), 'unknown position'),
    (dict(crop_size=0), 'crop_size'),
    (dict(crop_size=(4, 4, 4)), 'crop_size'),
])
def test_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PositionalCrop(**kwargs)
