"""benchmarks/pipeline.py runs at a tiny size (no timing asserted), and the
speed fix it led to (PCALighting's lookup table) keeps the pixels
identical."""
import json

import numpy as np
import pytest

from benchmarks.pipeline import main
from mmprelu.datasets.transforms import PCALighting


def test_runs_and_reports_both_pipelines(tmp_path):
    out = tmp_path / 'pipeline.json'
    result = main([
        '--images', '3', '--size', '80', '60', '--repeats', '2', '--out',
        str(out)
    ])
    variants = {'ours', 'torchvision'}
    assert result['images'] == 3
    assert set(result['images_per_s']) == variants
    assert all(v > 0 for v in result['images_per_s'].values())
    ips = result['images_per_s']
    assert result['ratio'] == pytest.approx(ips['ours'] / ips['torchvision'])
    assert result['ratios'] == {'ours': result['ratio']}
    # both end with one 3 x 224 x 224 uint8 image (scale jitter >= 256)
    assert result['output'] == {
        v: [[3, 224, 224], 'torch.uint8']
        for v in variants
    }
    assert list(result['stages_ms']['ours']) == [
        'LoadImageSafely', 'LimitAspectRatio', 'RandomChoiceResize',
        'RandomCrop', 'RandomFlip', 'PCALighting', 'PackInputs'
    ]
    assert 'decode_jpeg' in result['stages_ms']['torchvision']
    assert json.loads(out.read_text())['ratio'] == pytest.approx(
        result['ratio'])


def test_decode_backends_side_by_side():
    result = main([
        '--images', '2', '--size', '64', '48', '--repeats', '1',
        '--decode-backends', 'cv2', 'pillow'
    ])
    assert set(
        result['images_per_s']) == {'ours-cv2', 'ours-pillow', 'torchvision'}
    assert set(result['ratios']) == {'ours-cv2', 'ours-pillow'}
    assert result['ratio'] == result['ratios']['ours-cv2']
    assert all(result['stages_ms'][v]['LoadImageSafely'] > 0
               for v in ('ours-cv2', 'ours-pillow'))


def test_bad_arguments_exit(tmp_path):
    with pytest.raises(SystemExit):
        main(['--images', '0'])
    with pytest.raises(SystemExit):
        main(['--config', str(tmp_path / 'missing.py')])


@pytest.mark.parametrize(
    'view', ['whole', 'crop', 'mirrored', 'upside_down', 'strided'])
def test_pca_lighting_uint8_lookup_equals_float_arithmetic(view):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (40, 50, 3)).astype(np.uint8)
    img = {
        'whole': base,
        'crop': base[3:30, 5:41],
        'mirrored': np.flip(base[3:30, 5:41], 1),
        'upside_down': np.flip(base, 0),
        'strided': base[::2, ::-3]
    }[view]
    for _ in range(5):
        shift = rng.normal(0, 80, 3).astype(np.float32)  # some clip
        expected = np.rint(np.clip(img.astype(np.float32) + shift, 0,
                                   255)).astype(np.uint8)
        out = PCALighting._shift_uint8(img, shift)
        assert out.flags.c_contiguous
        np.testing.assert_array_equal(out, expected)
