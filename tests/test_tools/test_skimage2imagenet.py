"""tools/dataset_converters/skimage2imagenet.py: scikit-image's photographs
as a small ImageNet-layout set of mixed sizes, orientations and formats
(the ``photos`` fixture of tests/conftest.py writes it once)."""
import hashlib
import importlib.util
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from PIL import Image

import mmprelu  # noqa: F401  (registers LoadImageSafely)
from mmprelu.registry import DATASETS, TRANSFORMS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'dataset_converters' / 'skimage2imagenet.py'
sys.path.insert(0, str(SCRIPT.parent))  # its imagenet_layout module
spec = importlib.util.spec_from_file_location('skimage2imagenet', SCRIPT)
converter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converter)


def rows(root, split):
    lines = (root / 'meta' / f'{split}.txt').read_text().splitlines()
    return [(rel, int(label))
            for rel, label in (line.rsplit(' ', 1) for line in lines)]


def digest(root):
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob('*') if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_layout_and_counts(photos):
    classes = (photos / 'classes.txt').read_text().split()
    assert len(classes) == 13 and classes[0] == 'astronaut'
    train, val = rows(photos, 'train'), rows(photos, 'val')
    assert (len(train), len(val)) == (39, 13)
    # every class: 3 train files in its folder, 1 flat val file
    assert Counter(label for _, label in train) == {i: 3 for i in range(13)}
    assert sorted(label for _, label in val) == list(range(13))
    for rel, label in train:
        assert rel.split('/')[0] == classes[label]
        assert (photos / 'train' / rel).is_file()
    for rel, label in val:
        assert '/' not in rel and rel.startswith(classes[label] + '_')
        assert (photos / 'val' / rel).is_file()
    assert [r for r, _ in val] == sorted(r for r, _ in val)


def test_mixed_sizes_orientations_and_formats(photos):
    kinds = Counter()
    shapes = set()
    for split in ('train', 'val'):
        for rel, _ in rows(photos, split):
            with Image.open(photos / split / rel) as img:
                kinds[(img.format, img.mode)] += 1
                shapes.add((split, img.height, img.width))
                assert max(img.size) <= 640  # --max-side default
    assert {('JPEG', 'RGB'), ('JPEG', 'L'), ('PNG', 'RGB'), ('PNG', 'L'),
            ('PNG', 'RGBA')} <= set(kinds)
    for split in ('train', 'val'):
        sizes = {(h, w) for s, h, w in shapes if s == split}
        assert len(sizes) >= 10
        assert any(h > w for h, w in sizes)  # portrait
        assert any(h < w for h, w in sizes)  # landscape
        assert any(h == w for h, w in sizes)  # square


def test_every_file_loads_as_a_colour_image(photos):
    """LoadImageSafely (the configs' loader) reads grey and RGBA files as
    3-channel BGR of the file's size."""
    init_default_scope('mmpretrain')
    load = TRANSFORMS.build(
        dict(type='LoadImageSafely', imdecode_backend='cv2'))
    for split in ('train', 'val'):
        for rel, _ in rows(photos, split):
            path = photos / split / rel
            img = load(dict(img_path=str(path)))['img']
            raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            assert img.shape == raw.shape[:2] + (3, ) and img.dtype == np.uint8


@pytest.mark.parametrize('split', ['train', 'val'])
def test_read_by_the_paper_configs_dataset(photos, split):
    """dataset_type='ImageNet' with data_root and split, as in
    configs/_base_/datasets/imagenet_bs16_scale_jitter.py."""
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(
        dict(type='ImageNet', data_root=str(photos), split=split, pipeline=[]))
    assert len(dataset) == len(rows(photos, split))
    info = dataset.get_data_info(0)
    assert Path(info['img_path']).is_file() and 0 <= info['gt_label'] < 13


def test_variants():
    img = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    rng = np.random.default_rng(0)
    assert np.array_equal(converter.variant(img, 'flip', rng), img[:, ::-1])
    assert converter.variant(img, 'rot', rng).shape == (6, 4, 3)
    assert converter.variant(img, 'crop', rng).shape == (3, 3, 3)
    assert converter.shrink(np.zeros((400, 1000), np.uint8),
                            500).shape == (200, 500)


def test_deterministic_and_rerun_replaces(photos, tmp_path):
    (tmp_path / 'val').mkdir()
    (tmp_path / 'val' / 'stale.png').write_bytes(b'old')
    (tmp_path / 'keep.txt').write_text('not ours')
    assert converter.main([str(tmp_path)]) == 0
    assert not (tmp_path / 'val' / 'stale.png').exists()
    assert (tmp_path / 'keep.txt').read_text() == 'not ours'
    (tmp_path / 'keep.txt').unlink()
    assert digest(tmp_path) == digest(photos)


def test_bad_max_side(capsys):
    with pytest.raises(SystemExit):
        converter.parse_args(['out', '--max-side', '8'])
    assert '--max-side must be >= 32' in capsys.readouterr().err
