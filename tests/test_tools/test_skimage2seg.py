"""tools/dataset_converters/skimage2seg.py: scikit-image's photographs with
brightness masks in mmseg's folder layout."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'dataset_converters' / 'skimage2seg.py'
sys.path.insert(0, str(SCRIPT.parent))  # its imagenet_layout module
spec = importlib.util.spec_from_file_location('skimage2seg', SCRIPT)
converter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converter)


@pytest.fixture(scope='module')
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp('seg')
    return root, converter.convert(root, max_side=96)


def test_layout_pairs_every_image_with_its_mask(written):
    root, rows = written
    for split, count in (('train', 39), ('val', 13)):
        images = sorted(p.stem for p in (root / 'img_dir' / split).iterdir())
        masks = sorted(p.stem for p in (root / 'ann_dir' / split).iterdir())
        assert images == masks == [stem for stem, _, _ in rows[split]]
        assert len(images) == count
        assert {p.suffix for p in (root / 'img_dir' / split).iterdir()} == \
            {'.jpg'}
        for stem, (h, w, channels), counts in rows[split]:
            img = cv2.imread(
                str(root / 'img_dir' / split / f'{stem}.jpg'),
                cv2.IMREAD_UNCHANGED)
            mask = cv2.imread(
                str(root / 'ann_dir' / split / f'{stem}.png'),
                cv2.IMREAD_UNCHANGED)
            assert img.shape[:2] == mask.shape == (h, w) and max(h, w) <= 96
            assert (img.ndim == 2) == (channels == 1)  # grey stays grey
            assert mask.dtype == np.uint8 and mask.max() <= 2
            assert np.array_equal(
                np.bincount(mask.ravel(), minlength=3), counts)


def test_mixed_shapes_and_three_classes_everywhere(written):
    _, rows = written
    val = rows['val']
    shapes = {(h > w) - (h < w) for _, (h, w, _), _ in val}
    assert shapes == {-1, 0, 1}  # portrait, square, landscape
    assert len({(h, w) for _, (h, w, _), _ in val}) >= 10
    assert sum(c == 1 for _, (_, _, c), _ in val) >= 5  # grey photographs
    for _, _, counts in rows['train'] + val:
        assert (counts > 0).all()  # Otsu: each class present in each image


def test_mask_follows_brightness():
    """Dark, mid and bright thirds of a grey ramp; two classes too."""
    ramp = np.tile(
        np.repeat(np.arange(0, 240, 80, dtype=np.uint8), 40), (30, 1))
    mask = converter.brightness_mask(ramp)
    assert list(mask[15, ::40]) == [0, 1, 2]
    colour = np.repeat(ramp[..., None], 3, axis=2)
    assert np.array_equal(converter.brightness_mask(colour), mask)
    assert list(converter.brightness_mask(ramp, 2)[15, [0, 119]]) == [0, 1]


def test_rgba_is_flattened_over_white():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)
    assert converter.to_rgb_or_grey(rgba)[0, 0].tolist() == [10, 20, 30]
    assert converter.to_rgb_or_grey(rgba)[1, 1].tolist() == [255] * 3


def test_command_line(tmp_path):
    proc = subprocess.run([
        sys.executable, SCRIPT, tmp_path / 'out', '--max-side', '64',
        '--classes', '2'
    ],
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'train: 39 images (18 grey)' in proc.stdout
    assert 'classes dark, bright' in proc.stdout
    proc = subprocess.run(
        [sys.executable, SCRIPT, tmp_path / 'x', '--max-side', '8'],
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 2 and '--max-side must be >= 32, got 8' in \
        proc.stderr
