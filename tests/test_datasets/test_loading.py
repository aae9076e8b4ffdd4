"""LoadImageSafely on every kind of bad image real datasets hold."""
import multiprocessing

import numpy as np
import pytest
from mmcv.transforms import Compose
from PIL import Image

import mmprelu  # noqa: F401
from mmprelu.datasets.transforms import (LoadImageSafely, bad_image_stats,
                                         decode_image)
from mmprelu.registry import TRANSFORMS

RGB = (200, 100, 50)
BGR = RGB[::-1]


def _save(path, img, fmt):
    img.save(path, format=fmt)
    return path


def good_files(root):
    """name -> (path, expected (h, w), expected BGR of pixel 0 or None)."""
    files = {}
    files['rgb_jpeg'] = (_save(root / 'rgb.JPEG', Image.new('RGB', (40, 30),
                                                            RGB), 'JPEG'),
                         (30, 40), BGR)
    files['png_named_jpeg'] = (_save(root / 'png.JPEG',
                                     Image.new('RGB', (33, 21), RGB), 'PNG'),
                               (21, 33), BGR)
    files['gray_jpeg'] = (_save(root / 'gray.JPEG', Image.new('L', (20, 20),
                                                              77), 'JPEG'),
                          (20, 20), (77, 77, 77))
    files['cmyk_jpeg'] = (_save(root / 'cmyk.JPEG',
                                Image.new('CMYK', (24, 16), (0, 0, 0, 0)),
                                'JPEG'), (16, 24), (255, 255, 255))
    files['rgba_png'] = (_save(root / 'rgba.png',
                               Image.new('RGBA', (12, 18), RGB + (0, )),
                               'PNG'), (18, 12), BGR)
    files['palette_png'] = (_save(root / 'pal.png',
                                  Image.new('RGB', (9, 9), RGB).convert(
                                      'P', palette=Image.ADAPTIVE),
                                  'PNG'), (9, 9), BGR)
    sixteen = Image.fromarray(np.full((10, 15), 257 * 90, np.uint16))
    files['gray16_png'] = (_save(root / 'g16.png', sixteen, 'PNG'), (10, 15),
                           (90, 90, 90))
    files['tiny'] = (_save(root / 'tiny.png', Image.new('RGB', (3, 2), RGB),
                           'PNG'), (2, 3), BGR)
    # 1x4000: clamped to 1x10 by the default max_aspect_ratio=10
    files['extreme_aspect'] = (_save(root / 'line.png',
                                     Image.new('RGB', (4000, 1), RGB),
                                     'PNG'), (1, 10), BGR)
    files['extreme_tall'] = (_save(root / 'col.png',
                                   Image.new('RGB', (3, 500), RGB), 'PNG'),
                             (30, 3), BGR)
    return files


def bad_files(root):
    """name -> (path, expected words in the error)."""
    (root / 'empty.JPEG').write_bytes(b'')
    (root / 'text.JPEG').write_bytes(b'not an image at all\n' * 10)
    _save(root / 'full.jpg', Image.fromarray(
        np.random.RandomState(0).randint(0, 255, (64, 64, 3), np.uint8)),
        'JPEG')
    data = (root / 'full.jpg').read_bytes()
    (root / 'cut.JPEG').write_bytes(data[:len(data) // 2])
    _save(root / 'full.png', Image.new('RGB', (64, 64), RGB), 'PNG')
    data = (root / 'full.png').read_bytes()
    (root / 'cut.png').write_bytes(data[:len(data) - 30])
    return {
        'zero_byte': (root / 'empty.JPEG', 'empty file'),
        'not_image': (root / 'text.JPEG', 'not a recognised image'),
        'truncated_jpeg': (root / 'cut.JPEG', 'truncated or corrupt'),
        'truncated_png': (root / 'cut.png', 'truncated or corrupt'),
        'missing': (root / 'missing.JPEG', 'cannot read file'),
    }


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp('images')
    return good_files(root), bad_files(root)


GOOD = ['rgb_jpeg', 'png_named_jpeg', 'gray_jpeg', 'cmyk_jpeg', 'rgba_png',
        'palette_png', 'gray16_png', 'tiny', 'extreme_aspect',
        'extreme_tall']
BAD = ['zero_byte', 'not_image', 'truncated_jpeg', 'truncated_png',
       'missing']

TRAIN = [dict(type='LoadImageSafely'),
         dict(type='RandomResizeEdge', scale_range=(64, 128)),
         dict(type='RandomCrop', crop_size=56),
         dict(type='RandomFlip', prob=0.5, direction='horizontal'),
         dict(type='PCALighting', eigval=[55.46, 4.79, 1.15],
              eigvec=np.eye(3).tolist(), alphastd=0.1),
         dict(type='PackInputs')]
TEST = [dict(type='LoadImageSafely'),
        dict(type='ResizeEdge', scale=64, edge='short'),
        dict(type='CenterCrop', crop_size=56),
        dict(type='PackInputs')]


@pytest.mark.parametrize('name', GOOD)
def test_good_images_decode(images, name):
    path, shape, bgr = images[0][name]
    out = LoadImageSafely()(dict(img_path=str(path)))
    img = out['img']
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.shape[:2] == shape == out['img_shape'] == out['ori_shape']
    if name == 'gray16_png':
        assert Image.open(path).mode.startswith('I')  # really 16-bit
    assert np.abs(img[0, 0].astype(int) - bgr).max() <= 3


@pytest.mark.parametrize('name', GOOD)
@pytest.mark.parametrize('pipeline', [TRAIN, TEST], ids=['train', 'test'])
def test_pipelines_never_fail(images, name, pipeline):
    path = images[0][name][0]
    out = Compose([TRANSFORMS.build(t) for t in pipeline])(
        dict(img_path=str(path), gt_label=1))
    assert tuple(out['inputs'].shape) == (3, 56, 56)


@pytest.mark.parametrize('name', BAD)
def test_bad_images_raise_with_path_and_reason(images, name):
    path, words = images[1][name]
    with pytest.raises(ValueError) as err:
        LoadImageSafely()(dict(img_path=str(path)))
    assert str(path) in str(err.value) and words in str(err.value)


def test_skip_bad_returns_none_and_counts(images):
    before = bad_image_stats()
    load = LoadImageSafely(skip_bad=True)
    for name in BAD:
        assert load(dict(img_path=str(images[1][name][0]))) is None
    stats = bad_image_stats()
    assert stats['skipped'] == before['skipped'] + len(BAD)
    assert stats['total'] == before['total'] + len(BAD)
    assert str(images[1]['zero_byte'][0]) in stats['files']


@pytest.mark.skipif('fork' not in multiprocessing.get_all_start_methods(),
                    reason='needs the fork start method')
def test_bad_image_count_is_shared_with_forked_workers(images):
    """The shared counter exists once a skip_bad loader is built (before the
    dataloader forks), so a forked worker's skip is counted here too."""
    load = LoadImageSafely(skip_bad=True)
    before = bad_image_stats()
    worker = multiprocessing.get_context('fork').Process(
        target=load, args=(dict(img_path=str(images[1]['zero_byte'][0])), ))
    worker.start()
    worker.join(120)
    assert worker.exitcode == 0
    after = bad_image_stats()
    assert after['total'] == before['total'] + 1
    assert after['skipped'] == before['skipped']  # this process only


def test_max_pixels_and_aspect_options(images):
    path = images[0]['rgb_jpeg'][0]
    with pytest.raises(ValueError, match='larger than max_pixels=100'):
        LoadImageSafely(max_pixels=100)(dict(img_path=str(path)))
    line = images[0]['extreme_aspect'][0]
    out = LoadImageSafely(max_aspect_ratio=None)(dict(img_path=str(line)))
    assert out['img'].shape == (1, 4000, 3)
    out = LoadImageSafely(max_aspect_ratio=2.5, to_float32=True)(
        dict(img_path=str(line)))
    assert out['img'].shape == (1, 2, 3) and out['img'].dtype == np.float32


@pytest.mark.parametrize('kwargs,key', [
    (dict(max_aspect_ratio=0.5), 'max_aspect_ratio'),
    (dict(max_pixels=0), 'max_pixels'),
    (dict(skip_bad='yes'), 'skip_bad'),
])
def test_invalid_arguments(kwargs, key):
    with pytest.raises(ValueError, match=key):
        LoadImageSafely(**kwargs)


def test_decode_bytes_names_source():
    with pytest.raises(ValueError, match='^x.jpg: empty file'):
        decode_image(b'', 'x.jpg')


@pytest.mark.parametrize('to_float32', [False, True])
def test_an_already_loaded_image_is_kept(to_float32):
    """mmpretrain's inferencers read the image themselves: no file read,
    the aspect crop and dtype still apply."""
    img = np.random.RandomState(0).randint(0, 256, (4, 100, 3), np.uint8)
    out = LoadImageSafely(to_float32=to_float32)(
        dict(img=img, img_path='/does/not/exist.jpg'))
    assert out['img'].shape == (4, 40, 3) == out['ori_shape'] + (3, )
    assert out['img'].dtype == (np.float32 if to_float32 else np.uint8)
    assert np.array_equal(out['img'], img[:, 30:70])
    with pytest.raises(KeyError, match='neither "img_path" nor'):
        LoadImageSafely()(dict())


@pytest.mark.parametrize('shape, dtype, value, expected', [
    ((6, 5), np.uint8, 77, (77, 77, 77)),          # grey (H, W)
    ((6, 5, 1), np.uint8, 77, (77, 77, 77)),       # grey (H, W, 1)
    ((6, 5, 4), np.uint8, 9, (9, 9, 9)),           # BGRA: alpha dropped
    ((6, 5), np.uint16, 257 * 200, (200, 200, 200)),  # 16-bit grey
    ((6, 5, 3), np.uint8, 5, (5, 5, 5)),           # BGR kept
])
def test_a_given_array_becomes_3_channel_bgr(shape, dtype, value, expected):
    """An array from ImageClassificationInferencer (which reads images
    itself) gets the same 3-channel uint8 form as a decoded file."""
    img = np.full(shape, value, dtype)
    out = LoadImageSafely()(dict(img=img))
    assert out['img'].shape == (6, 5, 3) and out['img'].dtype == np.uint8
    assert tuple(out['img'][0, 0]) == expected
    assert out['img_shape'] == (6, 5)
    with pytest.raises(ValueError, match=r'results\["img"\].*shape '
                       r'\(6, 5, 2\)'):
        LoadImageSafely()(dict(img=np.zeros((6, 5, 2), np.uint8)))
