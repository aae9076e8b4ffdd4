"""Write scikit-learn's handwritten digits as an ImageNet-layout dataset.

The 1,797 8x8 grey images of ``sklearn.datasets.load_digits`` (10 classes,
shipped inside scikit-learn: no download) become a small folder dataset for
CPU demos of the paper's pipeline (scale jitter, crops, flips, colour)::

    OUT_DIR/classes.txt                 one class name a line: 0 .. 9
    OUT_DIR/train/<class>/<name>.png    3-channel 8-bit images
    OUT_DIR/val/<class>/<name>.png
    OUT_DIR/meta/train.txt              "<class>/<name>.png <label>" lines
    OUT_DIR/meta/val.txt

which mmpretrain reads with ``CustomDataset(ann_file='meta/train.txt',
data_prefix='train')`` (see configs/_base_/datasets/digits_bs32.py).

Choices: pixel values 0..16 are scaled to 0..255, the 8x8 image is upscaled
to ``--size`` with bicubic interpolation (cv2.INTER_CUBIC) on floats, then
clipped and rounded to uint8; the grey value is replicated to 3 channels.
``<name>`` is ``digit_<index>`` with the sample's index in ``load_digits``.
The split is stratified by class and seeded (scikit-learn's
``train_test_split``), so the output is deterministic. Re-running removes
the previous ``train``, ``val``, ``meta`` and ``classes.txt`` under OUT_DIR
first (nothing else there is touched).

Example::

    python tools/dataset_converters/digits2imagenet.py data/digits --size 64
"""
import sys
from pathlib import Path

import cv2
import numpy as np

from imagenet_layout import (clean, converter_parser, write_annotations,
                             write_classes, write_image)

NUM_CLASSES = 10


def parse_args(argv=None):
    parser = converter_parser(
        'Write scikit-learn\'s 8x8 handwritten digits as an ImageNet-layout '
        'folder dataset (train/, val/, meta/, classes.txt).', 'data/digits')
    parser.add_argument(
        '--size',
        type=int,
        default=64,
        help='side of the written square images in pixels, >= 8 '
        '(default: 64)')
    parser.add_argument(
        '--val-ratio',
        type=float,
        default=0.2,
        help='fraction of each class put in val, in (0, 1) (default: 0.2)')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the stratified split (default: 0)')
    args = parser.parse_args(argv)
    if args.size < 8:
        parser.error(f'--size must be >= 8 (the source images are 8x8), '
                     f'got {args.size}')
    if not 0. < args.val_ratio < 1.:
        parser.error(f'--val-ratio must be in (0, 1), got {args.val_ratio}')
    return args


def upscale(image: np.ndarray, size: int) -> np.ndarray:
    """One 8x8 digit with values 0..16 -> ``size`` x ``size`` x 3 uint8."""
    grey = image.astype(np.float32) * (255. / 16.)
    if size != grey.shape[0]:
        grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_CUBIC)
    grey = np.rint(np.clip(grey, 0, 255)).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def split_indices(labels: np.ndarray, val_ratio: float, seed: int) -> dict:
    """Stratified, seeded ``{'train': indices, 'val': indices}``, sorted."""
    from sklearn.model_selection import train_test_split
    train, val = train_test_split(
        np.arange(len(labels)),
        test_size=val_ratio,
        stratify=labels,
        random_state=seed)
    return dict(train=np.sort(train), val=np.sort(val))


def convert(out_dir,
            size: int = 64,
            val_ratio: float = 0.2,
            seed: int = 0) -> dict:
    """Write the dataset; return ``{split: {label: count}}``."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images, labels = digits.images, digits.target.astype(int)
    out_dir = Path(out_dir)
    clean(out_dir)
    classes = [str(c) for c in range(NUM_CLASSES)]
    write_classes(out_dir, classes)

    counts = {}
    for split, indices in split_indices(labels, val_ratio, seed).items():
        for name in classes:
            (out_dir / split / name).mkdir(parents=True, exist_ok=True)
        lines = []
        # sorted by (label, index): a stable, readable annotation file
        for idx in sorted(indices, key=lambda i: (labels[i], i)):
            rel = f'{classes[labels[idx]]}/digit_{idx:04d}.png'
            path = out_dir / split / rel
            write_image(path, upscale(images[idx], size))
            lines.append((rel, labels[idx]))
        write_annotations(out_dir, split, lines)
        counts[split] = {
            int(c): int(n)
            for c, n in zip(*np.unique(labels[indices], return_counts=True))
        }
    return counts


def main(argv=None) -> int:
    args = parse_args(argv)
    counts = convert(args.out_dir, args.size, args.val_ratio, args.seed)
    print(f'digits -> {args.out_dir} ({args.size}x{args.size} RGB PNG, '
          f'val ratio {args.val_ratio}, seed {args.seed})')
    for split, per_class in counts.items():
        detail = ' '.join(f'{c}:{n}' for c, n in per_class.items())
        print(f'  {split}: {sum(per_class.values())} images '
              f'(per class {detail})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
