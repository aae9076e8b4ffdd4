"""Write scikit-image's embedded photographs as a tiny semantic segmentation
set in mmsegmentation's folder layout, with label masks made from the
photographs themselves.

It is the segmentation twin of skimage2imagenet.py: the same 13 photographs
(``skimage.data``: no download), the same four variants of each (``orig``,
``flip``, ``rot``: portrait from landscape, ``crop``: another aspect ratio)
and the same split (one variant of each photograph in val: 39 train and 13
val images of mixed sizes and orientations, colour and grey)::

    OUT_DIR/img_dir/{train,val}/<photo>_<variant>.jpg   colour or grey JPEG
    OUT_DIR/ann_dir/{train,val}/<photo>_<variant>.png   one-channel masks

mmseg's ``BaseSegDataset`` reads it with ``img_suffix='.jpg'``,
``seg_map_suffix='.png'`` and ``metainfo=dict(classes=CLASSES)``
(configs/seg/_base_/datasets/skimage_photos.py).

The masks (our choice; there is no ground truth for these photographs):
each image's luminance, blurred (Gaussian, sigma 1 % of its longer side, so
that regions rather than pixels are labelled), is cut into three classes by
Otsu's multi-level threshold (``skimage.filters.threshold_multiotsu``):
0 ``dark``, 1 ``mid``, 2 ``bright``; ``--classes 2`` gives ``dark`` and
``bright`` only. The RGBA logo is composited over white first (JPEG has no
alpha). A set for checking that training, validation and both inference
modes run end to end on real photographs, not for measuring accuracy.

Example::

    python tools/dataset_converters/skimage2seg.py data/photos_seg
"""
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from imagenet_layout import SPLITS, write_image
from skimage2imagenet import (JPEG_QUALITY, PHOTOS, VAL_VARIANTS, VARIANTS,
                              load_photo, parse_photo_args, photo_parser,
                              shrink, variant)

#: Class names by label value, for 3 and 2 classes.
CLASSES = {3: ('dark', 'mid', 'bright'), 2: ('dark', 'bright')}


def parse_args(argv=None):
    parser = photo_parser(
        'Write scikit-image\'s embedded photographs and brightness masks as '
        'a tiny mmsegmentation-layout set.', 'data/photos_seg', 320)
    parser.add_argument(
        '--classes',
        type=int,
        default=3,
        choices=(2, 3),
        help='number of classes (default: 3)')
    return parse_photo_args(parser, argv)


def to_rgb_or_grey(img: np.ndarray) -> np.ndarray:
    """RGBA -> RGB over a white background; RGB and grey as they are."""
    if img.ndim == 3 and img.shape[2] == 4:
        alpha = img[..., 3:].astype(np.float32) / 255
        rgb = img[..., :3].astype(np.float32) * alpha + 255 * (1 - alpha)
        return np.round(rgb).astype(np.uint8)
    return img


def brightness_mask(img: np.ndarray, classes: int = 3) -> np.ndarray:
    """The label mask of an RGB or grey image (uint8, 0..classes-1)."""
    from skimage.filters import threshold_multiotsu
    grey = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    sigma = max(img.shape[:2]) / 100
    grey = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), sigma)
    thresholds = threshold_multiotsu(grey, classes=classes)
    return np.digitize(grey, thresholds).astype(np.uint8)


def convert(out_dir,
            max_side: int = 320,
            classes: int = 3,
            seed: int = 0) -> dict:
    """Write the set; return ``{split: [(stem, (h, w, channels), label
    counts), ...]}`` in file order."""
    out_dir = Path(out_dir)
    for sub in ('img_dir', 'ann_dir'):
        if (out_dir / sub).is_dir():
            shutil.rmtree(out_dir / sub)
        for split in SPLITS:
            (out_dir / sub / split).mkdir(parents=True)
    rng = np.random.default_rng(seed)
    written = {split: [] for split in SPLITS}
    for index, (name, _) in enumerate(PHOTOS):
        photo = to_rgb_or_grey(shrink(load_photo(name), max_side))
        for var in VARIANTS:
            img = variant(photo, var, rng)
            mask = brightness_mask(img, classes)
            split = 'val' if var == VAL_VARIANTS[index % 4] else 'train'
            stem = f'{name}_{var}'
            bgr = img if img.ndim == 2 else cv2.cvtColor(
                img, cv2.COLOR_RGB2BGR)
            write_image(out_dir / 'img_dir' / split / f'{stem}.jpg', bgr,
                        [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            write_image(out_dir / 'ann_dir' / split / f'{stem}.png', mask)
            channels = img.shape[2] if img.ndim == 3 else 1
            written[split].append(
                (stem, img.shape[:2] + (channels, ),
                 np.bincount(mask.ravel(), minlength=classes)))
    for rows in written.values():
        rows.sort()
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    written = convert(args.out_dir, args.max_side, args.classes, args.seed)
    print(f'skimage.data photographs -> {args.out_dir} (longer side <= '
          f'{args.max_side}, classes {", ".join(CLASSES[args.classes])})')
    for split, rows in written.items():
        shapes = sorted({f'{h}x{w}' for _, (h, w, _), _ in rows})
        grey = sum(c == 1 for _, (_, _, c), _ in rows)
        pixels = sum(counts for _, _, counts in rows)
        share = ' '.join(f'{n} {p:.0%}'
                         for n, p in zip(CLASSES[args.classes], pixels /
                                         pixels.sum()))
        print(f'  {split}: {len(rows)} images ({grey} grey), {len(shapes)} '
              f'shapes; pixels: {share}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
