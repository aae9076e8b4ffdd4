"""LoadImageSafely: mmcv's LoadImageFromFile (same arguments and pixels)
plus the bad-image count, errors naming the file, 16-bit images and given
arrays; on every kind of file real datasets hold, with both decoders."""
import inspect
import multiprocessing

import numpy as np
import pytest
from mmcv.transforms import Compose, LoadImageFromFile
from PIL import Image

import mmprelu  # noqa: F401
from mmprelu.datasets.transforms import LoadImageSafely, bad_image_stats
from mmprelu.registry import TRANSFORMS

RGB = (200, 100, 50)
BGR = RGB[::-1]
BACKENDS = ['cv2', 'pillow']


def _save(path, img, fmt, **kwargs):
    img.save(path, format=fmt, **kwargs)
    return path


def good_files(root):
    """name -> (path, expected (h, w), expected BGR of pixel 0 or None)."""
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90 degrees: 30x20 -> 20x30
    rotated = Image.new('RGB', (30, 20), RGB)
    rotated.paste((0, 0, 0), (0, 0, 15, 20))
    files = {
        'rgb_jpeg': (_save(root / 'rgb.JPEG', Image.new('RGB', (40, 30), RGB),
                           'JPEG'), (30, 40), BGR),
        'png_named_jpeg': (_save(root / 'png.JPEG',
                                 Image.new('RGB', (33, 21), RGB),
                                 'PNG'), (21, 33), BGR),
        'gray_jpeg': (_save(root / 'gray.JPEG', Image.new('L', (20, 20), 77),
                            'JPEG'), (20, 20), (77, 77, 77)),
        'cmyk_jpeg': (_save(root / 'cmyk.JPEG',
                            Image.new('CMYK', (24, 16), (0, 0, 0, 0)),
                            'JPEG'), (16, 24), (255, 255, 255)),
        'exif_rotated_jpeg':
        (_save(root / 'exif.jpg', rotated, 'JPEG',
               exif=exif.tobytes()), (30, 20), None),
        'rgba_png': (_save(root / 'rgba.png',
                           Image.new('RGBA', (12, 18), RGB + (0, )),
                           'PNG'), (18, 12), BGR),
        'palette_png': (_save(
            root / 'pal.png',
            Image.new('RGB', (9, 9), RGB).convert('P', palette=Image.ADAPTIVE),
            'PNG'), (9, 9), BGR),
        'gray16_png':
        (_save(root / 'g16.png',
               Image.fromarray(np.full((10, 15), 40000, np.uint16)),
               'PNG'), (10, 15), (156, 156, 156)),  # 40000 >> 8: the high byte
        'tiny': (_save(root / 'tiny.png', Image.new('RGB', (3, 2), RGB),
                       'PNG'), (2, 3), BGR),
        'extreme_aspect': (_save(root / 'line.png',
                                 Image.new('RGB', (4000, 1), RGB),
                                 'PNG'), (1, 4000), BGR),
    }
    return files


def bad_files(root):
    """name -> path of a file no decoder can read."""
    (root / 'empty.JPEG').write_bytes(b'')
    (root / 'text.JPEG').write_bytes(b'not an image at all\n' * 10)
    _save(root / 'full.png', Image.new('RGB', (64, 64), RGB), 'PNG')
    data = (root / 'full.png').read_bytes()
    (root / 'cut.png').write_bytes(data[:len(data) - 30])
    return {
        'zero_byte': root / 'empty.JPEG',
        'not_image': root / 'text.JPEG',
        'truncated_png': root / 'cut.png',
        'missing': root / 'missing.JPEG'
    }


def truncated_jpeg(root):
    rng = np.random.RandomState(0)
    path = _save(root / 'full.jpg',
                 Image.fromarray(rng.randint(0, 255, (64, 64, 3), np.uint8)),
                 'JPEG')
    data = path.read_bytes()
    (root / 'cut.JPEG').write_bytes(data[:len(data) // 2])
    return root / 'cut.JPEG'


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp('images')
    return good_files(root), bad_files(root), truncated_jpeg(root)


GOOD = [
    'rgb_jpeg', 'png_named_jpeg', 'gray_jpeg', 'cmyk_jpeg',
    'exif_rotated_jpeg', 'rgba_png', 'palette_png', 'gray16_png', 'tiny',
    'extreme_aspect'
]
BAD = ['zero_byte', 'not_image', 'truncated_png', 'missing']


def test_takes_exactly_load_image_from_files_arguments():
    upstream = inspect.signature(LoadImageFromFile.__init__).parameters
    kwargs = dict(
        to_float32=True,
        color_type='color_ignore_orientation',
        imdecode_backend='pillow',
        ignore_empty=True,
        backend_args=dict(backend='local'))
    assert set(kwargs) <= set(upstream)
    ours, theirs = LoadImageSafely(**kwargs), LoadImageFromFile(**kwargs)
    assert isinstance(ours, LoadImageFromFile)
    assert vars(ours) == vars(theirs)
    assert repr(ours) == repr(theirs).replace('LoadImageFromFile',
                                              'LoadImageSafely')
    defaults = LoadImageSafely()
    assert vars(defaults) == vars(LoadImageFromFile())
    with pytest.raises(TypeError, match='skip_bad'):
        LoadImageSafely(skip_bad=True)


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('name', GOOD)
def test_good_images_decode(images, name, backend):
    path, shape, bgr = images[0][name]
    out = LoadImageSafely(imdecode_backend=backend)(dict(img_path=str(path)))
    img = out['img']
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.shape[:2] == shape == out['img_shape'] == out['ori_shape']
    if name == 'gray16_png':
        assert Image.open(path).mode == 'I;16'  # really 16-bit
    if name == 'exif_rotated_jpeg':  # the black half is on top once rotated
        assert img[:10].max() < 30 and img[-10:].min() > 30
    else:
        assert np.abs(img[0, 0].astype(int) - bgr).max() <= 3
    if not (name == 'gray16_png' and backend == 'pillow'):
        # upstream's own pixels: only the 16-bit file differs (white there)
        upstream = LoadImageFromFile(imdecode_backend=backend)(
            dict(img_path=str(path)))['img']
        assert np.array_equal(img, upstream)


def test_both_backends_agree_on_16_bit(images):
    path = str(images[0]['gray16_png'][0])
    cv2_img, pil_img = (
        LoadImageSafely(imdecode_backend=b)(dict(img_path=path))['img']
        for b in BACKENDS)
    assert np.array_equal(cv2_img, pil_img)
    white = LoadImageFromFile(imdecode_backend='pillow')(
        dict(img_path=path))['img']
    assert (white == 255).all()  # what upstream's pillow path gives


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('name', BAD)
def test_bad_images_raise_naming_the_file(images, name, backend):
    path = images[1][name]
    with pytest.raises((ValueError, OSError)) as err:
        LoadImageSafely(imdecode_backend=backend)(dict(img_path=str(path)))
    assert str(path) in str(err.value)
    if name == 'zero_byte':
        assert 'empty file' in str(err.value)


@pytest.mark.parametrize('backend', BACKENDS)
def test_truncated_jpeg_raises_with_either_backend(images, backend):
    """OpenCV 4 fills a truncated JPEG with grey and returns it:
    with the cv2 backend a JPEG without its end marker goes to Pillow."""
    path = str(images[2])
    with pytest.raises(ValueError, match='truncated') as err:
        LoadImageSafely(imdecode_backend=backend)(dict(img_path=path))
    assert path in str(err.value)


def test_a_complete_jpeg_with_trailing_bytes_decodes(images, tmp_path):
    full = images[2].parent / 'full.jpg'
    path = tmp_path / 'trailer.jpg'
    path.write_bytes(full.read_bytes() + b'\x00' * 9)
    out = LoadImageSafely()(dict(img_path=str(path)))['img']
    expected = LoadImageFromFile()(dict(img_path=str(full)))['img']
    assert np.array_equal(out, expected)


def test_backends_agree_on_the_photos(photos):
    """scikit-image's photographs (grey and colour JPEG, colour, grey and
    RGBA PNG, mixed sizes): the same pixels from both decoders (both
    libjpeg-turbo and libpng), so the configs' choice of decoder is one of
    speed only."""
    files = sorted(
        p for p in photos.rglob('*')
        if p.is_file() and p.suffix.lower() in ('.jpeg', '.jpg', '.png'))
    assert len(files) > 40
    for path in files:
        cv2_img, pil_img = (
            LoadImageSafely(imdecode_backend=b)(
                dict(img_path=str(path)))['img'] for b in BACKENDS)
        assert cv2_img.shape[2] == 3 and np.array_equal(cv2_img, pil_img)


@pytest.mark.parametrize('backend', BACKENDS)
def test_ignore_empty_returns_none_and_counts(images, backend):
    before = bad_image_stats()
    load = LoadImageSafely(ignore_empty=True, imdecode_backend=backend)
    for name in BAD:
        assert load(dict(img_path=str(images[1][name]))) is None
    stats = bad_image_stats()
    assert stats['skipped'] == before['skipped'] + len(BAD)
    assert stats['total'] == before['total'] + len(BAD)
    assert str(images[1]['zero_byte']) in stats['files']
    if backend == 'cv2':  # upstream skips only what raises: cv2 gives None
        with pytest.raises(AssertionError, match='failed to load image'):
            LoadImageFromFile(ignore_empty=True)(
                dict(img_path=str(images[1]['not_image'])))


@pytest.mark.skipif(
    'fork' not in multiprocessing.get_all_start_methods(),
    reason='needs the fork start method')
def test_bad_image_count_is_shared_with_forked_workers(images):
    """The shared counter exists once an ignore_empty loader is built
    (before the dataloader forks), so a forked worker's skip counts here
    too."""
    load = LoadImageSafely(ignore_empty=True)
    before = bad_image_stats()
    worker = multiprocessing.get_context('fork').Process(
        target=load, args=(dict(img_path=str(images[1]['zero_byte'])), ))
    worker.start()
    worker.join(120)
    assert worker.exitcode == 0
    after = bad_image_stats()
    assert after['total'] == before['total'] + 1
    assert after['skipped'] == before['skipped']  # this process only


TRAIN = [
    dict(type='LoadImageSafely', imdecode_backend='cv2'),
    dict(type='LimitAspectRatio', max_ratio=10),
    dict(
        type='RandomChoiceResize',
        scales=list(range(64, 129)),
        resize_type='mmpretrain.ResizeEdge',
        edge='short'),
    dict(type='RandomCrop', crop_size=56),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='PCALighting',
        eigval=[55.46, 4.79, 1.15],
        eigvec=np.eye(3).tolist(),
        alphastd=0.1),
    dict(type='PackInputs')
]
TEST = [
    dict(type='LoadImageSafely', imdecode_backend='cv2'),
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='CenterCrop', crop_size=56),
    dict(type='PackInputs')
]


@pytest.mark.parametrize('name', GOOD)
@pytest.mark.parametrize('pipeline', [TRAIN, TEST], ids=['train', 'test'])
def test_pipelines_never_fail(images, name, pipeline):
    path = images[0][name][0]
    out = Compose([TRANSFORMS.build(t) for t in pipeline])(
        dict(img_path=str(path), gt_label=1))
    assert tuple(out['inputs'].shape) == (3, 56, 56)


@pytest.mark.parametrize('to_float32', [False, True])
def test_an_already_loaded_image_is_kept(to_float32):
    """mmpretrain's inferencers read the image themselves: no file read,
    the dtype option still applies."""
    img = np.random.RandomState(0).randint(0, 256, (4, 100, 3), np.uint8)
    out = LoadImageSafely(to_float32=to_float32)(
        dict(img=img, img_path='/does/not/exist.jpg'))
    assert out['img'].shape == (4, 100, 3) == out['ori_shape'] + (3, )
    assert out['img'].dtype == (np.float32 if to_float32 else np.uint8)
    assert np.array_equal(out['img'], img)


@pytest.mark.parametrize(
    'shape, dtype, value, expected',
    [
        ((6, 5), np.uint8, 77, (77, 77, 77)),  # grey (H, W)
        ((6, 5, 1), np.uint8, 77, (77, 77, 77)),  # grey (H, W, 1)
        ((6, 5, 4), np.uint8, 9, (9, 9, 9)),  # BGRA: alpha dropped
        ((6, 5), np.uint16, 40000, (156, 156, 156)),  # 16-bit: the high byte
        ((6, 5, 3), np.uint8, 5, (5, 5, 5)),  # BGR kept
    ])
def test_a_given_array_becomes_3_channel_bgr(shape, dtype, value, expected):
    """An array from ImageClassificationInferencer (which reads images
    itself and strips only steps named LoadImageFromFile) gets the same
    3-channel uint8 form as a decoded file."""
    img = np.full(shape, value, dtype)
    out = LoadImageSafely()(dict(img=img))
    assert out['img'].shape == (6, 5, 3) and out['img'].dtype == np.uint8
    assert tuple(out['img'][0, 0]) == expected
    assert out['img_shape'] == (6, 5)
    with pytest.raises(
            ValueError, match=r'results\["img"\].*shape '
            r'\(6, 5, 2\)'):
        LoadImageSafely()(dict(img=np.zeros((6, 5, 2), np.uint8)))
