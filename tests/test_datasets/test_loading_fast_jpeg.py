"""decode_image's OpenCV path for plain JPEGs: same pixels as the Pillow
path, taken only where it is safe (complete file, RGB/grey, no EXIF
rotation), every other file decoded as before."""
import io

import numpy as np
import pytest
from PIL import Image

import mmprelu.datasets.transforms.loading as loading
from mmprelu.datasets.transforms import LoadImageSafely, decode_image


def photo(w, h, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([128 + 90 * np.sin(f * xx) * np.cos(f * yy)
                    for f in (0.03, 0.05, 0.07)], -1)
    img += rng.normal(0, 8, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def jpeg(img, **kwargs):
    buf = io.BytesIO()
    img.save(buf, format='JPEG', **kwargs)
    return buf.getvalue()


def with_orientation(img, value):
    exif = Image.Exif()
    exif[0x0112] = value
    return jpeg(img, exif=exif.tobytes())


CASES = {  # name -> (bytes, cv2 path taken?)
    'rgb_420': (jpeg(photo(61, 43), quality=90), True),
    'rgb_444': (jpeg(photo(40, 52), quality=95, subsampling=0), True),
    'progressive': (jpeg(photo(64, 48), progressive=True), True),
    'grey': (jpeg(photo(37, 29).convert('L')), True),
    'exif_upright': (with_orientation(photo(30, 20), 1), True),
    'exif_rotated': (with_orientation(photo(30, 20), 6), False),
    'cmyk': (jpeg(photo(24, 16).convert('CMYK')), False),
    'trailing_bytes': (jpeg(photo(33, 21)) + b'\x00' * 7, False),
}


@pytest.fixture
def cv2_calls(monkeypatch):
    calls = []
    real = loading.cv2.imdecode

    def spy(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(loading.cv2, 'imdecode', spy)
    return calls


@pytest.mark.parametrize('name', list(CASES))
def test_same_pixels_either_path(name, cv2_calls):
    content, fast = CASES[name]
    slow = decode_image(content, name, fast_jpeg=False)
    assert not cv2_calls
    out = decode_image(content, name)
    assert bool(cv2_calls) == fast
    assert out.dtype == np.uint8 and out.flags['C_CONTIGUOUS']
    assert np.array_equal(out, slow)  # bitwise, both libjpeg-turbo


def test_exif_rotation_applied():
    out = decode_image(CASES['exif_rotated'][0])
    assert out.shape == (30, 20, 3)  # orientation 6: 30x20 shown upright


@pytest.mark.parametrize('cut', [0.5, 0.9])
def test_truncated_jpeg_still_an_error(cut, cv2_calls):
    content = CASES['rgb_420'][0]
    with pytest.raises(ValueError, match='x.jpg: truncated or corrupt'):
        decode_image(content[:int(len(content) * cut)], 'x.jpg')
    assert not cv2_calls  # cv2 would fill the missing part with grey


def test_cv2_failure_falls_back_to_pillow(monkeypatch):
    monkeypatch.setattr(loading.cv2, 'imdecode', lambda *a: None)
    content = CASES['rgb_420'][0]
    assert np.array_equal(decode_image(content),
                          decode_image(content, fast_jpeg=False))


def test_transform_option(tmp_path, cv2_calls):
    path = tmp_path / 'a.jpg'
    path.write_bytes(CASES['rgb_420'][0])
    slow = LoadImageSafely(fast_jpeg=False)
    assert 'fast_jpeg=False' in repr(slow)
    a = slow(dict(img_path=str(path)))['img']
    assert not cv2_calls
    b = LoadImageSafely()(dict(img_path=str(path)))['img']
    assert cv2_calls and np.array_equal(a, b)
    with pytest.raises(ValueError, match='fast_jpeg must be a bool'):
        LoadImageSafely(fast_jpeg='yes')
