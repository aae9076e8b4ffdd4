"""Export an mmprelu classifier (backbone + neck + head) to ONNX.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT
        [--output-file model.onnx] [--shape H [W]] [--dynamic-export]
        [--opset 17] [--softmax] [--verify] [--cfg-options KEY=VALUE ...]

The graph is the whole-image view (SPP-net's full-image test, §5.1 of the
paper): ``input`` (N, 3, H, W) -> ``logits`` (N, classes), or ``probs`` with
``--softmax``. ``input`` is what the config's data preprocessor gives the
model (RGB when ``to_rgb``, minus ``mean``, divided by ``std``); these
values are stored in the ONNX metadata (``mean``, ``std``, ``to_rgb``).
The dense multi-scale protocol is a test-time loop around this graph and is
not exported. The checkpoint is read with mmprelu's weights-only loader
(:func:`mmprelu.engine.load_checkpoint_safely`).

``--dynamic-export`` makes batch, height and width dynamic. The SPP neck
pools with windows that depend on the map size (SPP-net rule: window
``ceil(a / n)``, stride ``floor(a / n)``), and ONNX ``MaxPool`` needs
constant windows; for dynamic export every bin is therefore cut out with
``Slice`` at bounds computed from the input's shape and reduced with
``ReduceMax`` -- the same numbers for any size (``adaptive`` mode likewise,
with its bin bounds). A fixed export keeps plain ``MaxPool`` layers. Inputs
smaller than the minimum the tool prints (the last map must hold the finest
SPP level) are rejected by PyTorch and give a wrong/failed ONNX run.

``--verify`` runs onnxruntime on CPU and compares with PyTorch (max
absolute difference <= 1e-4, else exit status 1): at the export shape, and
for a dynamic export also at batch 2 and a second, larger non-square size.
"""
import argparse
import os.path as osp
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.runner import load_checkpoint

import mmprelu  # noqa: F401  (registers modules and the safe loader)
from mmprelu.compat import onnx_export
from mmprelu.models.necks.spp import SpatialPyramidPooling, sppnet_bins
from mmprelu.registry import MODELS

ATOL = 1e-4


class SlicedSPP(SpatialPyramidPooling):
    """:class:`SpatialPyramidPooling` with each bin cut out by slicing, so
    that windows follow the input size in an exported graph."""

    def check_size(self, height, width) -> None:
        if not torch.jit.is_tracing():
            super().check_size(height, width)

    @staticmethod
    def _bounds(size, level, mode):
        if mode == 'adaptive':  # torch's adaptive pooling bounds
            return [(i * size // level, ((i + 1) * size + level - 1) // level)
                    for i in range(level)]
        window, stride = sppnet_bins(size, level)
        return [(i * stride, i * stride + window) for i in range(level)]

    def pool_level(self, x: torch.Tensor, level: int) -> torch.Tensor:
        rows = self._bounds(x.shape[-2], level, self.mode)
        cols = self._bounds(x.shape[-1], level, self.mode)
        out = [
            torch.stack(
                [x[:, :, r0:r1, c0:c1].amax(dim=(2, 3)) for c0, c1 in cols],
                dim=-1) for r0, r1 in rows
        ]
        return torch.stack(out, dim=-2)


class ExportModel(nn.Module):
    """``model(x, mode='tensor')`` (backbone -> neck -> head logits), with
    an optional softmax."""

    def __init__(self, model: nn.Module, softmax: bool = False) -> None:
        super().__init__()
        self.model = model
        self.softmax = softmax

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x, mode='tensor')
        return F.softmax(logits, dim=1) if self.softmax else logits


def load_weights(model: nn.Module, checkpoint: str) -> None:
    """Load ``checkpoint`` strictly into ``model`` with mmengine's
    ``load_checkpoint`` (``state_dict`` and ``module.`` prefixes handled
    there; local files go through mmprelu's weights-only loader)."""
    try:
        load_checkpoint(
            model,
            checkpoint,
            map_location='cpu',
            strict=True,
            logger='silent')
    except (RuntimeError, KeyError, TypeError, AttributeError) as err:
        raise SystemExit(f'{checkpoint} does not fit the config\'s model: '
                         f'{err}') from err


def build_model(config: str,
                checkpoint: str,
                cfg_options=None,
                dynamic=False) -> nn.Module:
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    load_weights(model, checkpoint)
    if dynamic and isinstance(
            getattr(model, 'neck', None), SpatialPyramidPooling):
        model.neck = SlicedSPP(model.neck.levels, model.neck.mode)
    model.cfg = cfg
    return model.eval()


def min_input_size(model: nn.Module):
    """Smallest square input side the model accepts, for PReLUNet + SPP
    (None for other models)."""
    backbone, neck = model.backbone, getattr(model, 'neck', None)
    if not (hasattr(backbone, 'feature_size')
            and isinstance(neck, SpatialPyramidPooling)):
        return None
    try:
        return backbone.smallest_input(backbone.arch, max(neck.levels))
    except Exception:  # an arch the static rule cannot read
        return None


def check_shape(model: nn.Module, shape) -> None:
    """Run PyTorch once at ``shape``; a size the model rejects becomes a
    clear error naming ``--shape``."""
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, *shape))
    except (ValueError, RuntimeError) as err:
        low = min_input_size(model)
        hint = f' (smallest accepted input: {low}x{low})' if low else ''
        raise SystemExit(f'--shape {shape[0]} {shape[1]} does not fit the '
                         f'model{hint}: {err}')


def export(model: nn.Module,
           output_file: str,
           shape,
           dynamic=False,
           opset=17,
           softmax=False) -> None:
    wrapper = ExportModel(model, softmax).eval()
    out_name = 'probs' if softmax else 'logits'
    axes = None
    if dynamic:
        axes = {
            'input': {
                0: 'batch',
                2: 'height',
                3: 'width'
            },
            out_name: {
                0: 'batch'
            }
        }
    warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
    warnings.filterwarnings('ignore', category=DeprecationWarning)
    try:
        onnx_export(
            wrapper, (torch.zeros(1, 3, *shape), ),
            output_file,
            input_names=['input'],
            output_names=[out_name],
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True)
    except Exception as err:
        note = ''
        if 'PythonOp' in str(err) or 'autograd' in str(err).lower():
            note = (' (an autograd.Function in the graph, e.g. a custom '
                    'PReLU forward, must fall back to F.prelu while '
                    'exporting)')
        raise SystemExit(f'ONNX export of {type(model).__name__} failed'
                         f'{note}: {type(err).__name__}: {err}') from err
    add_metadata(output_file, model, shape, dynamic)


def add_metadata(output_file: str, model: nn.Module, shape, dynamic):
    import onnx
    onnx_model = onnx.load(output_file)
    prep = model.cfg.model.get('data_preprocessor') or model.cfg.get(
        'data_preprocessor', {})
    props = dict(
        mean=prep.get('mean'),
        std=prep.get('std'),
        to_rgb=prep.get('to_rgb', False),
        export_shape=list(shape),
        dynamic=dynamic,
        min_input_size=min_input_size(model))
    for key, value in props.items():
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(onnx_model, output_file)


def verify(model: nn.Module, output_file: str, shapes, softmax=False):
    """Compare onnxruntime (CPU) with PyTorch on random inputs of
    ``shapes`` ((N, 3, H, W) each); return ``[(shape, max_abs_diff,
    max_abs_value)]``."""
    import onnxruntime as ort
    session = ort.InferenceSession(
        output_file, providers=['CPUExecutionProvider'])
    wrapper = ExportModel(model, softmax).eval()
    gen = torch.Generator().manual_seed(0)
    rows = []
    for shape in shapes:
        x = torch.randn(*shape, generator=gen) * 50
        with torch.no_grad():
            ref = wrapper(x).numpy()
        out = session.run(None, {'input': x.numpy()})[0]
        if out.shape != ref.shape:
            raise SystemExit(f'{output_file}: onnxruntime output {out.shape}'
                             f' != PyTorch {ref.shape} for input {shape}')
        rows.append(
            (shape, float(np.abs(out - ref).max()), float(np.abs(ref).max())))
    return rows


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--output-file', default='tmp.onnx')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[224],
        help='export input size: H (square) or H W '
        '(default 224)')
    parser.add_argument(
        '--dynamic-export',
        action='store_true',
        help='dynamic batch, height and width')
    parser.add_argument(
        '--opset',
        type=int,
        default=17,
        help='ONNX opset version (default 17)')
    parser.add_argument(
        '--softmax',
        action='store_true',
        help='output softmax probabilities, not logits')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='compare onnxruntime with PyTorch (atol 1e-4)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            parser.error(f'file not found: {path}')
    if len(args.shape) not in (1, 2) or min(args.shape) < 1:
        parser.error(f'--shape takes H or H W (positive ints), got '
                     f'{args.shape}')
    if not 7 <= args.opset <= 21:
        parser.error(f'--opset {args.opset}: use 7..21 (default 17)')
    args.shape = tuple(args.shape) * (2 // len(args.shape))
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    model = build_model(args.config, args.checkpoint, args.cfg_options,
                        args.dynamic_export)
    check_shape(model, args.shape)
    export(model, args.output_file, args.shape, args.dynamic_export,
           args.opset, args.softmax)
    low = min_input_size(model)
    kind = 'dynamic N/H/W' if args.dynamic_export else 'fixed'
    smallest = f', smallest input {low}x{low}' if low else ''
    print(f'exported {args.output_file} (input 1x3x{args.shape[0]}x'
          f'{args.shape[1]}, {kind}, opset {args.opset}{smallest})')
    if not args.verify:
        return 0
    h, w = args.shape
    shapes = [(1, 3, h, w)]
    if args.dynamic_export:
        shapes += [(2, 3, h, w), (2, 3, h + 32, w + 16)]
    failed = False
    for shape, diff, peak in verify(model, args.output_file, shapes,
                                    args.softmax):
        ok = diff <= ATOL
        failed |= not ok
        print(f'verify {"x".join(map(str, shape))}: max |onnx - torch| = '
              f'{diff:.2e} (max |output| {peak:.3g}) '
              f'{"OK" if ok else f"FAILED (> {ATOL})"}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
