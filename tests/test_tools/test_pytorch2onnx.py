"""tools/deployment/pytorch2onnx.py: the digits model of a short training
run exported to ONNX (fixed and dynamic sizes), run with onnxruntime and
compared with PyTorch."""
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from tool_runner import CONFIG, ROOT, python

sys.path.insert(0, str(ROOT / 'tools' / 'deployment'))
import pytorch2onnx  # noqa: E402

ATOL = 1e-4


@pytest.fixture(scope='module')
def ckpt(trained):
    path = trained[0] / 'epoch_1.pth'
    assert path.is_file()
    return str(path)


@pytest.fixture(scope='module')
def model(ckpt):
    return pytorch2onnx.ExportModel(
        pytorch2onnx.build_model(str(CONFIG), ckpt)).eval()


def run_onnx(path, x):
    session = ort.InferenceSession(
        str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {'input': x.numpy()})[0]


def export(ckpt, path, *args):
    argv = [str(CONFIG), ckpt, '--output-file', str(path), *map(str, args)]
    return pytorch2onnx.main(argv)


def dims(path):
    graph = onnx.load(str(path)).graph
    return [
        d.dim_param or d.dim_value
        for d in graph.input[0].type.tensor_type.shape.dim
    ]


def op_types(path):
    return {node.op_type for node in onnx.load(str(path)).graph.node}


def test_fixed_export_matches_pytorch(ckpt, model, tmp_path, capsys):
    path = tmp_path / 'fixed.onnx'
    assert export(ckpt, path, '--shape', 56, 64, '--verify') == 0
    assert 'verify 1x3x56x64' in capsys.readouterr().out
    assert dims(path) == [1, 3, 56, 64]
    # PReLU goes through F.prelu (an ONNX PRelu node, not a PythonOp)
    assert {'PRelu', 'MaxPool', 'Gemm'} <= op_types(path)
    x = torch.randn(1, 3, 56, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(x * 50).numpy()
    assert np.abs(run_onnx(path, x * 50) - ref).max() <= ATOL
    with pytest.raises(Exception):  # fixed: another size is refused
        run_onnx(path, torch.zeros(1, 3, 72, 72))


def test_dynamic_export_matches_pytorch_at_two_sizes(ckpt, model, tmp_path):
    path = tmp_path / 'dynamic.onnx'
    assert export(ckpt, path, '--shape', 56, '--dynamic-export',
                  '--verify') == 0
    assert dims(path) == ['batch', 3, 'height', 'width']
    # SPP bins cut by Slice at shape-dependent bounds, reduced by ReduceMax
    assert {'Slice', 'ReduceMax', 'PRelu'} <= op_types(path)
    gen = torch.Generator().manual_seed(2)
    for shape in [(1, 3, 56, 56), (2, 3, 90, 71)]:
        x = torch.randn(*shape, generator=gen) * 50
        with torch.no_grad():
            ref = model(x).numpy()
        out = run_onnx(path, x)
        assert out.shape == (shape[0], 10)
        assert np.abs(out - ref).max() <= ATOL, shape


def test_dynamic_export_at_a_non_square_size_on_photos(ckpt, model, tmp_path,
                                                       photo_tensor):
    """Traced at 64x96 (H != W), then run on real photographs of three
    orientations, preprocessed as the config does (RGB, minus the mean)."""
    path = tmp_path / 'photos.onnx'
    assert export(ckpt, path, '--shape', 64, 96, '--dynamic-export',
                  '--verify') == 0
    assert dims(path) == ['batch', 3, 'height', 'width']
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props['export_shape'] == '[64, 96]'
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    shapes = set()
    for name in ('coffee_orig.JPEG', 'hubble_deep_field_rot.png',
                 'astronaut_rot.png', 'page_rot.png'):
        x = photo_tensor(name, 64).flip(1) - mean  # BGR -> RGB
        shapes.add(tuple(x.shape[-2:]))
        with torch.no_grad():
            ref = model(x).numpy()
        out = run_onnx(path, x)
        assert np.abs(out - ref).max() <= ATOL, name
    assert len(shapes) == 4 and (64, 64) in shapes
    assert any(h > w for h, w in shapes) and any(h < w for h, w in shapes)


def test_softmax_and_metadata(ckpt, tmp_path):
    path = tmp_path / 'probs.onnx'
    export(ckpt, path, '--shape', 56, '--softmax')
    onnx_model = onnx.load(str(path))
    assert onnx_model.graph.output[0].name == 'probs'
    props = {p.key: p.value for p in onnx_model.metadata_props}
    assert props['to_rgb'] == 'True' and '123.675' in props['mean']
    probs = run_onnx(path, torch.randn(1, 3, 56, 56))
    assert abs(probs.sum() - 1) < 1e-5


@pytest.mark.parametrize('shape, message', [
    ((20, ), 'smallest accepted input: 55x55'),
    ((56, 50), 'feature map is 7x6'),
])
def test_too_small_shape_is_a_clear_error(ckpt, tmp_path, shape, message):
    with pytest.raises(SystemExit, match=message) as err:
        export(ckpt, tmp_path / 'x.onnx', '--shape', *shape)
    assert f'--shape {shape[0]} ' in str(err.value)
    assert not (tmp_path / 'x.onnx').exists()


@pytest.mark.parametrize(
    'args', [['--shape', 0], ['--shape', 1, 2, 3], ['--opset', 3]])
def test_bad_arguments_from_command_line(ckpt, tmp_path, args):
    proc = python('deployment/pytorch2onnx.py', CONFIG, ckpt, '--output-file',
                  tmp_path / 'x.onnx', *args)
    assert proc.returncode == 2
    assert args[0] in proc.stderr


def test_checkpoint_of_another_model_is_refused(tmp_path):
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'backbone.x': torch.zeros(1)}}, other)
    with pytest.raises(SystemExit, match='does not fit'):
        export(str(other), tmp_path / 'x.onnx', '--shape', 56)
