"""Write scikit-image's embedded photographs as a tiny ImageNet-layout set.

The digits set (digits2imagenet.py) is square, grey and all one size; real
evaluation sets are not. This converter writes the photographs that ship
inside the scikit-image wheel (``skimage.data``: no download) with the
shapes and formats of a real image set: landscape, portrait and square
images of different sizes, colour and grey JPEGs, colour, grey and RGBA
PNGs::

    OUT_DIR/classes.txt                       one class name a line
    OUT_DIR/train/<class>/<class>_<variant>.<ext>
    OUT_DIR/val/<class>_<variant>.<ext>       flat, as ImageNet's val
    OUT_DIR/meta/train.txt                    "<path> <label>" lines
    OUT_DIR/meta/val.txt

It is read by the paper's configs as it is (``dataset_type='ImageNet'``,
``data_root=OUT_DIR``; the labels are 0..12, valid ImageNet indices) and by
``CustomDataset(ann_file='meta/val.txt', data_prefix='val',
metainfo=dict(classes='OUT_DIR/classes.txt'))``. It is a set for checking
shapes and formats end to end, not for measuring accuracy.

Each photograph (one class each) gives four files (its variants):
``orig`` (as shipped), ``flip`` (mirrored left-right), ``rot`` (rotated by
90 degrees: landscape becomes portrait) and ``crop`` (a seeded random crop
of half the width and three quarters of the height: another aspect ratio).
One variant of each photograph goes to val (``VAL_VARIANTS``, chosen so that
val mixes orientations, sizes and formats: 13 images), the other three to
train (39 images).

Formats: colour photographs are written as JPEG (quality 90, ``.JPEG`` as
in ImageNet) except their ``rot`` variant, a PNG; grey ones as one-channel
PNG except their ``flip`` variant, a one-channel JPEG; the logo as RGBA PNG.
Photographs larger than ``--max-side`` (default 640, ImageNet's typical
size) are first shrunk (cv2.INTER_AREA) so that their longer side is
``--max-side``. The output is deterministic for a given ``--seed`` (and
scikit-image/OpenCV version). Re-running removes the previous ``train``,
``val``, ``meta`` and ``classes.txt`` under OUT_DIR first.

Example::

    python tools/dataset_converters/skimage2imagenet.py data/photos
"""
import sys
from pathlib import Path

import cv2
import numpy as np

from imagenet_layout import (SPLITS, clean, converter_parser,
                             write_annotations, write_classes, write_image)

# (name in skimage.data, kind); kind decides the file formats (see above)
PHOTOS = (
    ('astronaut', 'colour'),
    ('coffee', 'colour'),
    ('chelsea', 'colour'),
    ('rocket', 'colour'),
    ('hubble_deep_field', 'colour'),
    ('immunohistochemistry', 'colour'),
    ('camera', 'grey'),
    ('coins', 'grey'),
    ('page', 'grey'),
    ('horse', 'grey'),
    ('text', 'grey'),
    ('clock', 'grey'),
    ('logo', 'rgba'),
)
VARIANTS = ('orig', 'flip', 'rot', 'crop')
JPEG_QUALITY = 90

# the variant of photograph i that goes to val: VAL_VARIANTS[i % 4]
VAL_VARIANTS = ('rot', 'orig', 'crop', 'flip')


def photo_parser(description: str, out_dir: str, max_side: int):
    """The converter parser with the photo options (``--max-side``,
    ``--seed``) shared with skimage2seg.py; parse with
    :func:`parse_photo_args`."""
    parser = converter_parser(description, out_dir)
    parser.add_argument(
        '--max-side',
        type=int,
        default=max_side,
        help='shrink photographs whose longer side is larger than this '
        f'(pixels, >= 32; default: {max_side})')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the crop positions (default: 0)')
    return parser


def parse_photo_args(parser, argv=None):
    args = parser.parse_args(argv)
    if args.max_side < 32:
        parser.error(f'--max-side must be >= 32, got {args.max_side}')
    return args


def parse_args(argv=None):
    return parse_photo_args(
        photo_parser(
            'Write scikit-image\'s embedded photographs as a tiny ImageNet-'
            'layout set of mixed sizes, orientations and formats.',
            'data/photos', 640), argv)


def load_photo(name: str) -> np.ndarray:
    """A photograph from ``skimage.data`` as uint8: HxW (grey), HxWx3 (RGB)
    or HxWx4 (RGBA)."""
    import skimage.data
    img = getattr(skimage.data, name)()
    if img.dtype == bool:  # the horse silhouette
        img = img.astype(np.uint8) * 255
    if img.dtype != np.uint8:
        raise TypeError(f'skimage.data.{name}: expected uint8 pixels, got '
                        f'{img.dtype}')
    return img


def shrink(img: np.ndarray, max_side: int) -> np.ndarray:
    height, width = img.shape[:2]
    if max(height, width) <= max_side:
        return img
    ratio = max_side / max(height, width)
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def variant(img: np.ndarray, name: str, rng: np.random.Generator):
    """One of ``VARIANTS`` of ``img`` (a new contiguous array)."""
    if name == 'orig':
        return img.copy()
    if name == 'flip':
        return np.ascontiguousarray(img[:, ::-1])
    if name == 'rot':
        return np.ascontiguousarray(np.rot90(img))
    height, width = img.shape[:2]
    ch, cw = max(1, height * 3 // 4), max(1, width // 2)
    y = int(rng.integers(0, height - ch + 1))
    x = int(rng.integers(0, width - cw + 1))
    return np.ascontiguousarray(img[y:y + ch, x:x + cw])


def file_format(kind: str, name: str) -> str:
    """'.JPEG' or '.png' for a variant of a photograph of ``kind``."""
    if kind == 'colour':
        return '.png' if name == 'rot' else '.JPEG'
    if kind == 'grey':
        return '.JPEG' if name == 'flip' else '.png'
    return '.png'  # RGBA


def write(path: Path, img: np.ndarray) -> None:
    """Save an RGB(A)/grey array with OpenCV (which wants BGR(A))."""
    if img.ndim == 3:
        code = cv2.COLOR_RGBA2BGRA if img.shape[2] == 4 else cv2.COLOR_RGB2BGR
        img = cv2.cvtColor(img, code)
    write_image(path, img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
                if path.suffix == '.JPEG' else [])


def convert(out_dir, max_side: int = 640, seed: int = 0) -> dict:
    """Write the set; return ``{split: [(relative path, label, (h, w,
    channels)), ...]}`` in file order."""
    out_dir = Path(out_dir)
    clean(out_dir)
    rng = np.random.default_rng(seed)
    write_classes(out_dir, [name for name, _ in PHOTOS])
    (out_dir / 'val').mkdir()
    written = {split: [] for split in SPLITS}
    for label, (name, kind) in enumerate(PHOTOS):
        photo = shrink(load_photo(name), max_side)
        (out_dir / 'train' / name).mkdir(parents=True)
        for var in VARIANTS:
            img = variant(photo, var, rng)
            stem = f'{name}_{var}{file_format(kind, var)}'
            split = 'val' if var == VAL_VARIANTS[label % 4] else 'train'
            rel = stem if split == 'val' else f'{name}/{stem}'
            write(out_dir / split / rel, img)
            channels = img.shape[2] if img.ndim == 3 else 1
            written[split].append((rel, label, img.shape[:2] + (channels, )))
    for split, rows in written.items():
        rows.sort()  # ImageNet's meta files are sorted by path
        write_annotations(out_dir, split,
                          [(rel, label) for rel, label, _ in rows])
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    written = convert(args.out_dir, args.max_side, args.seed)
    print(f'skimage.data photographs -> {args.out_dir} (longer side <= '
          f'{args.max_side}, seed {args.seed})')
    for split, rows in written.items():
        shapes = sorted({f'{h}x{w}' for _, _, (h, w, _) in rows})
        formats = sorted({Path(rel).suffix for rel, _, _ in rows})
        print(f'  {split}: {len(rows)} images, {len(shapes)} shapes, '
              f'formats {" ".join(formats)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
