"""Image loading for real-world datasets: mmcv's ``LoadImageFromFile`` plus
what it lacks (the paper, §3, is silent on bad files).

ImageNet holds CMYK JPEGs, a PNG named ``.JPEG`` and grey images; other
datasets add truncated and zero-byte files and 16-bit PNGs. mmcv's decoders
already read CMYK, palette, grey, RGBA/LA and EXIF-rotated files by content
(docs/choices.md compares the two backends); ``LoadImageSafely`` keeps
``LoadImageFromFile``'s arguments and meaning and adds only the four things
listed in its docstring.
"""
import io
import logging
import multiprocessing
import threading
from typing import Dict, Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log
from PIL import Image

from mmprelu.registry import TRANSFORMS

__all__ = ['LoadImageSafely', 'bad_image_stats']

# Pillow's modes of 16-bit grey images (PNG, TIFF, PGM)
_SIXTEEN_BIT = ('I;16', 'I;16L', 'I;16B', 'I;16N')
_COLOUR = ('color', 'color_ignore_orientation')
_CONVERTING = _COLOUR + ('grayscale', 'grayscale_ignore_orientation')

_lock = threading.Lock()
_stats = {'skipped': 0, 'files': set()}
# The cross-process count of skipped images, created on first use (not at
# import: importing mmprelu only registers modules).
_shared_skipped = None


def _shared_counter():
    """The process-shared count of skipped images, created on first call.

    ``LoadImageSafely(ignore_empty=True)`` calls it when it is built, i.e.
    when the dataset's pipeline is built in the main process, before the
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
    """Images skipped by ``LoadImageSafely(ignore_empty=True)``:
    ``'total'`` over this process and its forked dataloader workers
    (spawned workers keep their own), ``'skipped'`` and ``'files'`` (sorted
    paths) in this process only."""
    with _lock:
        counter = _shared_skipped
        total = 0 if counter is None else int(counter.value)
        return {
            'total': total,
            'skipped': _stats['skipped'],
            'files': sorted(_stats['files'])
        }


def as_bgr(img: np.ndarray) -> np.ndarray:
    """A given image array as 3-channel BGR, as the colour decoders give a
    file: grey replicated, alpha dropped, uint16 reduced to its high byte
    (as OpenCV reduces a 16-bit file); other dtypes kept."""
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
        img = (img >> 8).astype(np.uint8)
    return img


@TRANSFORMS.register_module()
class LoadImageSafely(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` (same arguments, meaning and defaults:
    ``to_float32``, ``color_type``, ``imdecode_backend``, ``ignore_empty``,
    ``backend_args``), plus:

    * **a count of skipped files**: with ``ignore_empty=True`` (opt-in,
      training only) a file that cannot be read or decoded gives ``None``
      (mmengine's ``BaseDataset`` then draws another index, up to
      ``max_refetch`` times), and also a warning naming the file, the
      reason and the running count (:func:`bad_image_stats`;
      ``BadImageReportHook`` logs it after every epoch). Upstream gives
      ``None`` only where reading or decoding raises: a corrupt file that
      OpenCV decodes to nothing fails its assertion instead. Test-mode
      datasets raise on ``None``: keep it off in test pipelines.
    * **errors that name the file**: a file that cannot be decoded raises
      ``ValueError('{path}: ...')`` (upstream: Pillow's "cannot identify
      image file <_io.BytesIO ...>", or OpenCV's assertion on empty data).
    * **each file to the decoder that reads it right**: with the cv2
      backend, a JPEG that does not end with its end-of-image marker is
      decoded by Pillow, which raises if it is truncated (OpenCV 4 fills
      the missing part with grey and returns it; complete files with
      trailing bytes decode alike); with the pillow backend, a 16-bit grey
      image is decoded by OpenCV, which keeps the high byte (Pillow's
      conversion clips it at 255: all white).
    * **an image already in** ``results['img']`` is not read again: a
      colour loader makes it 3-channel BGR (:func:`as_bgr`). mmpretrain's
      inferencers read images themselves and strip only steps named
      ``LoadImageFromFile`` from the test pipeline, so this step sees the
      array (a grey one would otherwise fail in collation).

    Required keys: ``img_path`` (or ``img``). Modified keys: ``img``,
    ``img_shape``, ``ori_shape``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.ignore_empty:
            _shared_counter()  # before the dataloader forks its workers

    def transform(self, results: Dict) -> Optional[Dict]:
        if isinstance(results.get('img'), np.ndarray):  # added: given array
            img = results['img']
            if self.color_type in _COLOUR:
                img = as_bgr(img)
            return self._finish(results, img)
        path = results['img_path']
        try:
            img = self._decode(self._read(path), str(path))
        except Exception as err:
            if not self.ignore_empty:
                raise
            self._count_skip(path, err)  # added: warning and count
            return None
        return self._finish(results, img)

    def _read(self, path) -> bytes:
        if self.file_client_args is not None:  # upstream's deprecated form
            client = fileio.FileClient.infer_client(self.file_client_args,
                                                    path)
            return client.get(path)
        return fileio.get(path, backend_args=self.backend_args)

    def _decode(self, content: bytes, path: str) -> np.ndarray:
        # added: errors that name the file, and each file to the decoder
        # that reads it right (see the class docstring)
        if not content:
            raise ValueError(f'{path}: empty file (0 bytes)')
        backend = self.imdecode_backend
        jpeg = content.startswith(b'\xff\xd8')
        try:
            if backend == 'cv2' and jpeg and not content.endswith(b'\xff\xd9'):
                backend = 'pillow'  # maybe truncated: Pillow raises then
            elif backend == 'pillow' and not jpeg \
                    and self.color_type in _CONVERTING:
                with Image.open(io.BytesIO(content)) as probe:  # header
                    if probe.mode in _SIXTEEN_BIT:
                        backend = 'cv2'  # keeps the high byte
            img = mmcv.imfrombytes(
                content, flag=self.color_type, backend=backend)
        except Exception as err:
            raise ValueError(f'{path}: cannot decode the image ({backend}: '
                             f'{type(err).__name__}: {err})') from err
        if img is None:
            raise ValueError(f'{path}: cannot decode the image ({backend}: '
                             f'not an image, or truncated or corrupt)')
        return img

    @staticmethod
    def _count_skip(path, err: Exception) -> None:
        counter = _shared_counter()
        with counter.get_lock():
            counter.value += 1
            total = int(counter.value)
        with _lock:
            _stats['skipped'] += 1
            _stats['files'].add(str(path))
        reason = str(err) if str(path) in str(err) else f'{path}: {err}'
        print_log(
            f'skipped a bad image: {reason} ({total} skipped so far)',
            logger='current',
            level=logging.WARNING)

    def _finish(self, results: Dict, img: np.ndarray) -> Dict:
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
