"""Robust image loading for real-world datasets (issue 6).

ImageNet holds CMYK JPEGs, a PNG named ``.JPEG`` and grayscale images; other
datasets add truncated and zero-byte files, 16-bit PNGs and images with
extreme aspect ratios. The paper (He et al. 2015, §3) is silent on all of
this; ``LoadImageSafely`` is our answer, a drop-in replacement for mmcv's
``LoadImageFromFile`` (colour mode only).
"""
import io
import multiprocessing
import threading
import warnings
from typing import Dict, Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmengine.logging import print_log
from PIL import Image, ImageOps, UnidentifiedImageError

from mmprelu.registry import TRANSFORMS

__all__ = ['LoadImageSafely', 'decode_image', 'bad_image_stats']

# Pillow refuses (DecompressionBombError) above twice this many pixels; we
# refuse above it, from the header, before any pixel is decoded.
DEFAULT_MAX_PIXELS = 178_956_970
_SIXTEEN_BIT = ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I')
_ORIENTATION = 0x0112  # EXIF tag

_lock = threading.Lock()
_stats = {'skipped': 0, 'files': set()}
# The cross-process count of skipped images, created on first use (not at
# import: importing mmprelu only registers modules, issue 15).
_shared_skipped = None


def _shared_counter():
    """The process-shared count of skipped images, created on first call.

    ``LoadImageSafely(skip_bad=True)`` calls it when it is built, i.e. when
    the dataset's pipeline is built in the main process, before the
    dataloader forks its workers, so forked workers (the configs'
    ``mp_start_method='fork'``) add to the same counter. A spawned worker
    imports this module afresh and creates its own on its first bad image.
    """
    global _shared_skipped
    with _lock:
        if _shared_skipped is None:
            _shared_skipped = multiprocessing.Value('q', 0)
        return _shared_skipped


def bad_image_stats() -> Dict:
    """Images skipped by ``LoadImageSafely(skip_bad=True)``: ``'total'``
    over this process and its forked dataloader workers (spawned workers
    keep their own), ``'skipped'`` and ``'files'`` (sorted paths) in this
    process only."""
    with _lock:
        counter = _shared_skipped
        total = 0 if counter is None else int(counter.value)
        return {'total': total, 'skipped': _stats['skipped'],
                'files': sorted(_stats['files'])}


def _to_uint8(img: Image.Image) -> np.ndarray:
    """HxWx3 uint8 BGR array from a Pillow image of any mode."""
    if img.mode in _SIXTEEN_BIT:
        # 16-bit grayscale (PNG): 0..65535 -> 0..255 by rounding v / 257
        arr = np.asarray(img).astype(np.float64)
        arr = np.clip(np.rint(arr / 257.), 0, 255).astype(np.uint8)
    elif img.mode == 'F':
        # float images: taken to be on the 0..255 scale already
        arr = np.clip(np.rint(np.asarray(img)), 0, 255).astype(np.uint8)
    else:
        # RGBA/LA/PA/P: alpha dropped (as cv2's IMREAD_COLOR does);
        # CMYK/YCbCr/LAB/1/L: Pillow's conversion to RGB. An RGB image is
        # not converted (a copy), and cvtColor swaps R and B into a new
        # contiguous array: numpy's copy of arr[..., ::-1] costs about as
        # much as decoding the JPEG (same pixels, see benchmarks/pipeline.py)
        if img.mode != 'RGB':
            img = img.convert('RGB')
        return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
    return np.repeat(arr[..., None], 3, axis=2)


def _plain_jpeg(img: Image.Image, content: bytes) -> bool:
    """Whether ``cv2.imdecode`` gives exactly what the Pillow path would: a
    complete (ends with the EOI marker) 8-bit RGB or grey JPEG without an
    EXIF rotation."""
    return (img.format == 'JPEG' and img.mode in ('RGB', 'L')
            and content.endswith(b'\xff\xd9')
            and ('exif' not in img.info  # no APP1 Exif segment at all
                 or img.getexif().get(_ORIENTATION, 1) == 1))


def decode_image(content: bytes, path: str = '<bytes>',
                 max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                 fast_jpeg: bool = True) -> np.ndarray:
    """Decode image bytes to an HxWx3 uint8 BGR array.

    The format is found from the content (a PNG named ``.JPEG`` is read as a
    PNG); EXIF orientation is applied (as mmcv's default cv2 decoding does).
    The header is always read by Pillow (size check before any pixel is
    decoded). With ``fast_jpeg`` (default), a complete RGB/grey JPEG
    without EXIF rotation -- most of ImageNet -- is decoded by
    ``cv2.imdecode`` straight to BGR (libjpeg-turbo as Pillow, same pixels,
    no RGB copy and swap: ~0.15 ms less per ImageNet-sized image); every
    other file, and any file cv2 fails on, takes the Pillow path, whose
    errors name truncated or corrupt data (cv2 fills a truncated JPEG with
    grey silently, hence the end-marker test).

    Raises:
        ValueError: ``'{path}: {reason}'`` for an empty, unrecognised,
            truncated or corrupt file, or one with more than ``max_pixels``
            pixels.
    """
    if not content:
        raise ValueError(f'{path}: empty file (0 bytes)')
    try:
        with warnings.catch_warnings():
            # a too-large image is refused below, not warned about
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(content))
            width, height = img.size
            if width < 1 or height < 1:
                raise ValueError(f'{path}: image has size {width}x{height}')
            if max_pixels is not None and width * height > max_pixels:
                raise ValueError(
                    f'{path}: image of {width}x{height} pixels is larger '
                    f'than max_pixels={max_pixels}')
            if fast_jpeg and _plain_jpeg(img, content):
                arr = cv2.imdecode(
                    np.frombuffer(content, np.uint8),
                    cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
                if arr is not None and arr.shape == (height, width, 3):
                    return arr
            img.load()  # raises on truncated data
            ImageOps.exif_transpose(img, in_place=True)  # no copy
            return _to_uint8(img)
    except ValueError:
        raise
    except UnidentifiedImageError:
        raise ValueError(f'{path}: not a recognised image format '
                         f'({len(content)} bytes)') from None
    except Image.DecompressionBombError as err:
        raise ValueError(f'{path}: image too large ({err})') from None
    except (OSError, SyntaxError) as err:
        raise ValueError(f'{path}: truncated or corrupt image '
                         f'({type(err).__name__}: {err})') from None


def as_bgr(img: np.ndarray) -> np.ndarray:
    """An image array given in ``results['img']`` as 3-channel BGR: grey
    replicated, alpha dropped, uint16 divided by 257 and rounded (other
    dtypes kept)."""
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f'results["img"]: expected an (H, W), (H, W, 1), '
                         f'(H, W, 3) or (H, W, 4) image array, got shape '
                         f'{img.shape}')
    img = img[:, :, :3]
    if img.dtype == np.uint16:
        img = np.clip(np.rint(img / 257.), 0, 255).astype(np.uint8)
    return img


@TRANSFORMS.register_module()
class LoadImageSafely(BaseTransform):
    """Load an image robustly, as a 3-channel uint8 BGR array.

    Handles what ``LoadImageFromFile`` trips over: grayscale, palette,
    CMYK, RGBA and 16-bit images are converted to 3-channel 8-bit BGR
    (16-bit values are divided by 257; alpha is dropped); the format is
    sniffed from the content, not the extension. Unreadable files (empty,
    truncated, not an image, over ``max_pixels``) raise
    ``ValueError('{path}: {reason}')``.

    Extreme aspect ratios (e.g. 1x4000): a short-side resize to 256 would
    make a 256 x 1,024,000 image (750 MiB). With ``max_aspect_ratio=r`` an
    image whose long/short side ratio exceeds ``r`` is centre-cropped along
    its long side to ``round(r * short)`` pixels, so every later resize has
    bounded memory (our choice; such images carry little object content
    outside their centre). ``ori_shape`` is the shape after that crop.

    ``skip_bad=True`` (opt-in, training only) returns ``None`` for an
    unreadable file with a warning naming the file, the reason and the
    running count (see :func:`bad_image_stats`; ``BadImageReportHook``
    logs the count after every epoch); mmengine's ``BaseDataset``
    then draws another index (up to ``max_refetch`` times), so a long run
    survives a few bad files. Test-mode datasets raise on ``None``, so keep
    ``skip_bad=False`` in test pipelines.

    An image already in ``results['img']`` (an array put there by
    mmpretrain's inferencers, which load images themselves and drop only
    ``LoadImageFromFile`` from a test pipeline) is not read again; a grey
    (H, W) or (H, W, 1) array gets 3 channels, a 4th (alpha) channel is
    dropped and 16-bit values are divided by 257, as for files (else a grey
    array given to ``ImageClassificationInferencer`` fails in collation or
    the 3-channel normalisation); the aspect-ratio crop and ``to_float32``
    still apply.

    Required keys: ``img_path`` (or ``img``). Added keys: ``img``,
    ``img_shape``, ``ori_shape``.

    Args:
        to_float32 (bool): return a float32 array. Defaults to False.
        max_aspect_ratio (float, optional): see above; ``None`` disables the
            crop. Defaults to 10.
        max_pixels (int, optional): refuse larger images (read from the
            header, before decoding). Defaults to Pillow's error threshold,
            178,956,970.
        skip_bad (bool): see above. Defaults to False.
        fast_jpeg (bool): decode plain JPEGs with OpenCV (same pixels,
            faster; see :func:`decode_image`). Defaults to True.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 to_float32: bool = False,
                 max_aspect_ratio: Optional[float] = 10.,
                 max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                 skip_bad: bool = False,
                 fast_jpeg: bool = True,
                 backend_args: Optional[dict] = None) -> None:
        name = type(self).__name__
        if max_aspect_ratio is not None and not (
                isinstance(max_aspect_ratio, (int, float))
                and max_aspect_ratio >= 1):
            raise ValueError(f'{name}: max_aspect_ratio must be None or a '
                             f'number >= 1, got {max_aspect_ratio!r}')
        if max_pixels is not None and not (isinstance(max_pixels, int)
                                           and max_pixels > 0):
            raise ValueError(f'{name}: max_pixels must be None or a '
                             f'positive int, got {max_pixels!r}')
        for key, value in (('to_float32', to_float32),
                           ('skip_bad', skip_bad), ('fast_jpeg', fast_jpeg)):
            if not isinstance(value, bool):
                raise ValueError(f'{name}: {key} must be a bool, got '
                                 f'{value!r}')
        self.to_float32 = to_float32
        self.max_aspect_ratio = max_aspect_ratio
        self.max_pixels = max_pixels
        self.skip_bad = skip_bad
        self.fast_jpeg = fast_jpeg
        if skip_bad:
            _shared_counter()  # before the dataloader forks its workers
        self.backend_args = None if backend_args is None else dict(
            backend_args)

    def _read(self, path: str) -> bytes:
        try:
            return fileio.get(path, backend_args=self.backend_args)
        except OSError as err:
            raise ValueError(f'{path}: cannot read file '
                             f'({type(err).__name__}: {err})') from None

    def clamp_aspect(self, img: np.ndarray) -> np.ndarray:
        """Centre-crop the long side to ``max_aspect_ratio * short``."""
        if self.max_aspect_ratio is None:
            return img
        height, width = img.shape[:2]
        short, long = min(height, width), max(height, width)
        keep = max(1, int(round(self.max_aspect_ratio * short)))
        if long <= keep:
            return img
        start = (long - keep) // 2
        if height > width:
            return img[start:start + keep]
        return img[:, start:start + keep]

    def transform(self, results: Dict) -> Optional[Dict]:
        if isinstance(results.get('img'), np.ndarray):
            return self._finish(results, as_bgr(results['img']))
        path = results.get('img_path')
        if path is None:
            raise KeyError(f'{type(self).__name__}: results has neither '
                           f'"img_path" nor an "img" array')
        try:
            img = decode_image(self._read(path), str(path), self.max_pixels,
                               self.fast_jpeg)
        except ValueError as err:
            if not self.skip_bad:
                raise
            counter = _shared_counter()
            with counter.get_lock():
                counter.value += 1
                total = int(counter.value)
            with _lock:
                _stats['skipped'] += 1
                _stats['files'].add(str(path))
            print_log(f'skipped a bad image: {err} ({total} skipped so far)',
                      logger='current', level=30)
            return None
        return self._finish(results, img)

    def _finish(self, results: Dict, img: np.ndarray) -> Dict:
        img = np.ascontiguousarray(self.clamp_aspect(img))
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(to_float32={self.to_float32}, '
                f'max_aspect_ratio={self.max_aspect_ratio}, '
                f'max_pixels={self.max_pixels}, skip_bad={self.skip_bad}, '
                f'fast_jpeg={self.fast_jpeg})')
