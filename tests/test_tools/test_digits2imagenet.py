"""tools/dataset_converters/digits2imagenet.py and the configs reading it."""
import hashlib
import importlib.util
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmprelu  # noqa: F401  (registers the transforms)
from mmprelu.registry import DATASETS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'dataset_converters' / 'digits2imagenet.py'
DATASET_CONFIGS = ROOT / 'configs' / '_base_' / 'datasets'
sys.path.insert(0, str(SCRIPT.parent))  # its imagenet_layout module
spec = importlib.util.spec_from_file_location('digits2imagenet', SCRIPT)
converter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converter)

SIZE = 16


@pytest.fixture(scope='module')
def out(tmp_path_factory):
    root = tmp_path_factory.mktemp('digits')
    assert converter.main([str(root), '--size', str(SIZE)]) == 0
    return root


def meta(root, split):
    lines = (root / 'meta' / f'{split}.txt').read_text().splitlines()
    return [line.rsplit(' ', 1) for line in lines]


def digest(root):
    """Hash of every file's path and bytes under root."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob('*') if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_layout_and_counts(out, capsys):
    classes = (out / 'classes.txt').read_text().split()
    assert classes == [str(i) for i in range(10)]
    train, val = meta(out, 'train'), meta(out, 'val')
    assert len(train) + len(val) == 1797
    assert len(val) == pytest.approx(0.2 * 1797, abs=2)
    assert not {r for r, _ in train} & {r for r, _ in val}
    for split in ('train', 'val'):
        assert sorted(p.name for p in (out / split).iterdir()) == classes
        n_files = sum(1 for _ in (out / split).rglob('*.png'))
        assert n_files == len(meta(out, split))


@pytest.mark.parametrize('split', ['train', 'val'])
def test_meta_lines_match_images(out, split):
    rows = meta(out, split)
    for rel, label in rows:
        assert rel.split('/')[0] == label and rel.endswith('.png')
    for rel, _ in rows[::97]:  # a sample of the images
        img = cv2.imread(str(out / split / rel), cv2.IMREAD_UNCHANGED)
        assert img.shape == (SIZE, SIZE, 3) and img.dtype == 'uint8'
        assert (img[..., 0] == img[..., 2]).all()  # grey in RGB
        assert img.max() > 200 and img.min() < 50  # scaled from 0..16


def test_split_is_stratified(out):
    train = Counter(label for _, label in meta(out, 'train'))
    val = Counter(label for _, label in meta(out, 'val'))
    for label in train:
        ratio = val[label] / (train[label] + val[label])
        assert abs(ratio - 0.2) < 0.02, (label, ratio)


def test_deterministic_and_idempotent(out, tmp_path):
    again = tmp_path / 'again'
    converter.main([str(again), '--size', str(SIZE)])
    assert digest(again) == digest(out)
    (again / 'train' / '0' / 'stale.png').write_bytes(b'x')
    converter.main([str(again), '--size', str(SIZE), '--seed', '1'])
    assert digest(again) != digest(out)  # another split
    converter.main([str(again), '--size', str(SIZE)])
    assert digest(again) == digest(out)  # stale and seed-1 files are gone


def test_summary_is_printed(tmp_path, capsys):
    converter.main([str(tmp_path), '--size', '8', '--val-ratio', '0.5'])
    text = capsys.readouterr().out
    assert 'train: 898 images' in text and 'val: 899 images' in text


@pytest.mark.parametrize('argv,words', [
    (['--size', '7'], ['--size', '>= 8', '7']),
    (['--val-ratio', '0'], ['--val-ratio', '(0, 1)']),
    (['--val-ratio', '1.5'], ['--val-ratio', '1.5']),
    (['--size', 'big'], ['--size', 'big']),
])
def test_bad_arguments(tmp_path, capsys, argv, words):
    with pytest.raises(SystemExit) as info:
        converter.main([str(tmp_path)] + argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err
    assert not (tmp_path / 'meta').exists()


def test_help_runs_as_a_script():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), '--help'],
        capture_output=True,
        text=True,
        timeout=60)
    assert proc.returncode == 0
    assert '--val-ratio' in proc.stdout and 'out_dir' in proc.stdout


# --------------------------------------------- configs reading the layout


@pytest.mark.parametrize('config,crop', [
    ('digits_bs32.py', 56),
    ('imagenet_bs16_scale_jitter.py', 224),
    ('imagenet_bs16_short256.py', 224),
])
@pytest.mark.parametrize('loader', ['train_dataloader', 'val_dataloader'])
def test_config_pipelines_give_crops(out, config, crop, loader):
    """The converter's layout is also ImageNet's (meta/<split>.txt), so the
    ImageNet configs can be tried on it too."""
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(DATASET_CONFIGS / config)
    dataset_cfg = cfg[loader].dataset
    dataset_cfg.data_root = str(out)
    dataset = DATASETS.build(dataset_cfg)
    expected = 1797 - len(meta(out, 'val')) if loader.startswith('train') \
        else len(meta(out, 'val'))
    assert len(dataset) == expected
    for i in (0, len(dataset) - 1):
        sample = dataset[i]
        assert tuple(sample['inputs'].shape) == (3, crop, crop)
        label = int(sample['data_samples'].gt_label)
        assert label == (0 if i == 0 else 9)


def test_digits_config_settings():
    cfg = Config.fromfile(DATASET_CONFIGS / 'digits_bs32.py')
    assert cfg.data_preprocessor.num_classes == 10
    assert cfg.data_preprocessor.std == [1., 1., 1.]
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.train_dataloader.dataset.metainfo.classes == [
        str(i) for i in range(10)
    ]
    types = [s['type'] for s in cfg.train_dataloader.dataset.pipeline]
    assert types == [
        'LoadImageSafely', 'LimitAspectRatio', 'RandomChoiceResize',
        'RandomCrop', 'RandomFlip', 'PCALighting', 'PackInputs'
    ]


@pytest.mark.parametrize('config,resize', [
    ('imagenet_bs16_scale_jitter.py',
     dict(
         type='RandomChoiceResize',
         scales=list(range(256, 513)),
         resize_type='mmpretrain.ResizeEdge',
         edge='short')),
    ('imagenet_bs16_short256.py',
     dict(type='ResizeEdge', scale=256, edge='short')),
])
def test_imagenet_config_settings(config, resize):
    cfg = Config.fromfile(DATASET_CONFIGS / config)
    assert cfg.data_preprocessor.num_classes == 1000
    assert cfg.data_preprocessor.std == [1., 1., 1.]
    assert cfg.data_preprocessor.to_rgb is True
    train = cfg.train_dataloader
    assert (train.batch_size, train.dataset.split) == (16, 'train')
    assert train.sampler.shuffle is True
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.val_dataloader.sampler.shuffle is False
    assert cfg.val_evaluator.topk == (1, 5)
    steps = train.dataset.pipeline
    assert [s['type']
            for s in steps[:2]] == ['LoadImageSafely', 'LimitAspectRatio']
    assert steps[2] == resize
    assert [s['type'] for s in steps[3:]
            ] == ['RandomCrop', 'RandomFlip', 'PCALighting', 'PackInputs']
    assert [s['type'] for s in cfg.val_dataloader.dataset.pipeline
            ] == ['LoadImageSafely', 'ResizeEdge', 'CenterCrop', 'PackInputs']
