"""What the dataset converters of this folder share: the ImageNet folder
layout mmpretrain's ``ImageNet`` / ``CustomDataset`` read.

    OUT_DIR/classes.txt          one class name a line
    OUT_DIR/meta/{train,val}.txt ``relative/path label`` lines
    OUT_DIR/{train,val}/...      the images

The converters import it by its plain name (their folder is ``sys.path[0]``
when run as scripts; tools/ is no package).
"""
import argparse
import shutil
from pathlib import Path
from typing import Iterable, Sequence, Tuple

import cv2
import numpy as np

SPLITS = ('train', 'val')


def converter_parser(description: str,
                     example: str) -> argparse.ArgumentParser:
    """A parser with the positional ``out_dir`` (e.g. ``example``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('out_dir', help=f'output folder, e.g. {example}')
    return parser


def clean(out_dir: Path) -> None:
    """Remove what a previous run wrote (and only that)."""
    for sub in SPLITS + ('meta', ):
        if (out_dir / sub).is_dir():
            shutil.rmtree(out_dir / sub)
    if (out_dir / 'classes.txt').exists():
        (out_dir / 'classes.txt').unlink()


def write_classes(out_dir: Path, classes: Sequence[str]) -> None:
    """``classes.txt`` (and the ``meta`` folder the annotations go to)."""
    (out_dir / 'meta').mkdir(parents=True, exist_ok=True)
    (out_dir / 'classes.txt').write_text('\n'.join(classes) + '\n')


def write_annotations(out_dir: Path, split: str,
                      rows: Iterable[Tuple[str, int]]) -> None:
    """``meta/<split>.txt``: one ``relative/path label`` line a row, in
    the given order."""
    (out_dir / 'meta' / f'{split}.txt').write_text(''.join(
        f'{rel} {label}\n' for rel, label in rows))


def write_image(path: Path, img: np.ndarray,
                params: Sequence[int] = ()) -> None:
    """``cv2.imwrite`` that raises ``OSError`` naming ``path`` on failure."""
    if not cv2.imwrite(str(path), img, list(params)):
        raise OSError(f'could not write image {path}')
