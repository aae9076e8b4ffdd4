"""Inference the mmpretrain way with our config and a checkpoint of the
short training run (conftest.py): ImageClassificationInferencer,
inference_model by model name, demo/image_demo.py and
demo/prediction_grid.py."""
import json
import subprocess
import sys

import numpy as np
import pytest

from tool_runner import CONFIG, ROOT, check, run


def demo(script, *args):
    return run([sys.executable,
                str(ROOT / 'demo' / script), *map(str, args)],
               env=dict(OMP_NUM_THREADS='1'))


@pytest.fixture(scope='module')
def checkpoint(trained):
    return trained[0] / 'epoch_1.pth'


@pytest.fixture(scope='module')
def image(digits):
    first = (digits / 'meta' / 'val.txt').read_text().split()[0]
    return digits / 'val' / first


def test_inferencer_and_inference_model(checkpoint, image):
    from mmcv import imread
    from mmpretrain import ImageClassificationInferencer, inference_model

    import mmprelu  # noqa: F401  (registers our modules)

    inferencer = ImageClassificationInferencer(
        str(CONFIG), pretrained=str(checkpoint), device='cpu')
    assert list(inferencer.classes) == [str(i) for i in range(10)]
    grey = imread(str(image), flag='grayscale')
    assert grey.ndim == 2
    # a path, a BGR array and a grey array, in one batch
    results = inferencer([str(image), imread(str(image)), grey], batch_size=3)
    scores = np.stack([r['pred_scores'] for r in results])
    assert scores.shape == (3, 10)
    np.testing.assert_allclose(scores.sum(1), 1, atol=1e-5)
    # the grey array is read as the file is (3 equal channels)
    np.testing.assert_allclose(scores[2], scores[0], atol=1e-6)
    # our model names are added to mmpretrain's hub on request
    mmprelu.apis.register_models()
    by_name = inference_model(
        'prelu-net-tiny_1xb64_digits',
        str(image),
        pretrained=str(checkpoint),
        device='cpu')
    assert by_name['pred_label'] == results[0]['pred_label']
    assert by_name['pred_class'] == str(by_name['pred_label'])


def test_image_demo_prints_topk_and_saves_the_picture(checkpoint, image,
                                                      tmp_path):
    show = tmp_path / 'nested' / 'vis'
    out = check(
        demo('image_demo.py', image, CONFIG, checkpoint, '--show-dir', show))
    result = json.loads(out[out.index('{'):out.rindex('}') + 1])
    top = result['topk']
    assert len(top) == 5
    assert [t['score'] for t in top] == sorted((t['score'] for t in top),
                                               reverse=True)
    assert top[0]['label'] == result['pred_label']
    assert top[0]['class'] == result['pred_class']
    saved = show / (image.stem + '.png')
    assert saved.is_file() and f'saved to {saved}' in out
    from mmcv import imread
    assert min(imread(str(saved)).shape[:2]) >= 224  # enlarged for drawing


@pytest.mark.parametrize('model', ['config', 'name'])
def test_image_demo_config_or_model_name(checkpoint, image, model):
    """CONFIG may be a model name (the tool registers our names)."""
    spec = CONFIG if model == 'config' else 'prelu-net-tiny_1xb64_digits'
    out = check(demo('image_demo.py', image, spec, checkpoint, '--topk', 3))
    result = json.loads(out[out.index('{'):out.rindex('}') + 1])
    assert len(result['topk']) == 3
    assert result['pred_class'] == str(result['pred_label'])


def test_image_demo_without_checkpoint_says_so(image):
    proc = demo('image_demo.py', image, CONFIG, '--topk', 1)
    check(proc)
    assert 'image_demo.py: no checkpoint given' in proc.stderr
    assert 'randomly initialized weights' in proc.stderr


@pytest.mark.parametrize('model', ['config', 'name'])
def test_mmpretrain_warns_without_weights(model):
    """No weights are released: mmpretrain's inferencer given one of our
    configs (which leave ``load_from`` unset) or model names and no
    checkpoint warns that it has none instead of predicting with random
    weights silently."""
    from mmpretrain import ImageClassificationInferencer

    import mmprelu
    mmprelu.apis.register_models()
    spec = str(CONFIG) if model == 'config' else 'prelu-net-tiny_1xb64_digits'
    with pytest.warns(
            UserWarning, match='Unable to find pre-defined '
            'checkpoint'):
        ImageClassificationInferencer(spec, device='cpu')


def test_image_demo_usage_errors(checkpoint, image):
    proc = demo('image_demo.py', image, CONFIG, checkpoint, '--checkpoint',
                'other.pth')
    assert proc.returncode == 2 and 'two different checkpoints' in \
        proc.stderr
    proc = demo('image_demo.py', 'missing.png', CONFIG, checkpoint)
    assert proc.returncode == 2 and "image file 'missing.png'" in proc.stderr


def test_prediction_grid(checkpoint, options, tmp_path):
    png = tmp_path / 'grid.png'
    # the grid reads the config's test set: point it at the test data
    root = [
        o for o in options if o.startswith('test_dataloader.dataset.'
                                           'data_root=')
    ][0]
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f'_base_ = [{str(CONFIG)!r}]\n'
                   f'test_dataloader = dict(dataset=dict(data_root='
                   f'{root.split("=", 1)[1]!r}))\n')
    out = check(
        demo('prediction_grid.py', cfg, checkpoint, '--out', png, '--num', 6,
             '--pool', 12, '--cols', 3))
    assert f'prediction grid (6 images) saved to {png}' in out
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    proc = demo('prediction_grid.py', cfg, checkpoint, '--out', 'x.jpg')
    assert proc.returncode == 2 and 'must be a .png file' in proc.stderr


def test_demo_script_is_valid_bash():
    proc = subprocess.run(
        ['bash', '-n', str(ROOT / 'tools' / 'demo_digits.sh')],
        capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stderr
