"""Images/s of our training pipeline vs its torchvision v2 equivalent.

``ours`` is the config's ``train_pipeline`` built through the registries
(exactly what training runs, §3): ``LoadImageSafely`` (read + decode, mmcv's
``imdecode_backend``), ``LimitAspectRatio``, ``RandomChoiceResize`` (shorter
side a random integer in [256, 512], mmpretrain's ``ResizeEdge``),
``RandomCrop`` 224, ``RandomFlip``, ``PCALighting`` and ``PackInputs`` (a
3 x 224 x 224 uint8 tensor plus its ``DataSample``). ``--decode-backends cv2
pillow`` runs it once per decode backend instead (``ours-cv2``,
``ours-pillow``: the loading step's ``imdecode_backend`` switched), side by
side, to choose the configs' backend.

``torchvision`` does the same with ``torchvision.transforms.v2`` on tensors:
``read_file`` + ``decode_jpeg``, ``RandomResize(256, 513)`` (random shorter
side, bilinear; ``antialias=False`` by default because cv2's bilinear resize
in ours does not antialias either; ``--antialias`` to switch it on),
``RandomCrop`` 224, ``RandomHorizontalFlip``, AlexNet PCA lighting written
with torch ops (``ToDtype`` float32, add the noise, clip, round, back to
uint8, as ``PCALighting`` does) — no ``DataSample``.

All run on the same synthetic JPEGs (written to a temporary directory),
in one process with one thread (torch and OpenCV), over interleaved
repeats; the median repeat gives images/s and the per-stage breakdown (ms
per image). ``ratios`` holds each of ours / torchvision images/s (higher
is better for ours), ``ratio`` the first of them. Writes JSON with
``--out``.

    python benchmarks/pipeline.py --images 64 --repeats 5
    python benchmarks/pipeline.py --decode-backends cv2 pillow --repeats 9
"""
import os
import statistics
import tempfile
import time

import cv2
import numpy as np
import torch
from mmengine.config import Config
from PIL import Image

if __package__:  # imported (tests): benchmarks.pipeline
    from ._common import add_run_args, make_parser, write_json
else:  # run as a script: its folder is sys.path[0]
    from _common import add_run_args, make_parser, write_json

DEFAULT_CONFIG = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'configs',
    '_base_', 'datasets', 'imagenet_bs16_scale_jitter.py')
# typical ImageNet photo sizes (w, h): most are 500 x 375 / 375 x 500
SIZES = ((500, 375), (375, 500), (500, 333), (500, 400), (640, 480))


def write_images(folder, count, sizes=SIZES, quality=90, seed=0):
    """``count`` JPEGs with photo-like content (smooth gradients, blobs and
    mild noise, so they compress like photos, not like white noise)."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        w, h = sizes[i % len(sizes)]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.empty((h, w, 3), np.float32)
        for c in range(3):
            fx, fy, phase = rng.uniform(0.005, 0.04,
                                        2).tolist() + [rng.uniform(0, 6.3)]
            img[..., c] = 128 + 90 * np.sin(fx * xx + phase) * np.cos(fy * yy)
        img += rng.normal(0, 8, img.shape).astype(np.float32)
        img = np.clip(img, 0, 255).astype(np.uint8)
        path = os.path.join(folder, f'img_{i:04d}.jpg')
        Image.fromarray(img).save(path, quality=quality)
        paths.append(path)
    return paths


def build_ours(config, decode_backend=None):
    """The config's ``train_pipeline`` as a list of (name, transform); with
    ``decode_backend`` the loading step's ``imdecode_backend`` is that."""
    from mmengine.registry import init_default_scope

    import mmprelu  # noqa: F401  (registers our transforms)
    from mmprelu.registry import TRANSFORMS
    cfg = Config.fromfile(config)
    if 'train_pipeline' not in cfg:
        raise KeyError(f'{config}: no train_pipeline in this config')
    init_default_scope('mmpretrain')
    steps = []
    for step in cfg.train_pipeline:
        step = dict(step)
        if decode_backend and 'Load' in step['type']:
            step['imdecode_backend'] = decode_backend
        steps.append((step['type'], TRANSFORMS.build(step)))
    return steps, lambda path: dict(img_path=path)


class TorchPCALighting(torch.nn.Module):
    """PCA lighting on a float CHW RGB tensor with torch ops, clipped to
    [0, 255], rounded and returned as uint8 (as ``PCALighting`` does)."""

    def __init__(self, eigval, eigvec, alphastd=0.1):
        super().__init__()
        self.eigval = torch.tensor(eigval, dtype=torch.float64)
        self.eigvec = torch.tensor(eigvec, dtype=torch.float64)
        self.alphastd = alphastd

    def forward(self, img):
        alpha = torch.randn(3, dtype=torch.float64) * self.alphastd
        shift = (self.eigvec @ (alpha * self.eigval)).to(img.dtype)
        out = img.add_(shift[:, None, None]).clamp_(0, 255).round_()
        return out.to(torch.uint8)


def build_torchvision(config, antialias=False):
    """The torchvision v2 equivalent, as a list of (name, callable)."""
    import torchvision.transforms.v2 as v2
    from torchvision.io import decode_jpeg, read_file
    cfg = Config.fromfile(config)
    light = next((s for s in cfg.train_pipeline if s['type'] == 'PCALighting'),
                 {})
    from mmprelu.datasets.transforms.colour import (IMAGENET_EIGVAL,
                                                    IMAGENET_EIGVEC)
    steps = [
        ('decode_jpeg', lambda path: decode_jpeg(read_file(path))),
        ('RandomResize', v2.RandomResize(256, 513, antialias=antialias)),
        ('RandomCrop', v2.RandomCrop(224)),
        ('RandomHorizontalFlip', v2.RandomHorizontalFlip(0.5)),
        ('ToDtype', v2.ToDtype(torch.float32)),
        ('PCALighting',
         TorchPCALighting(
             light.get('eigval', IMAGENET_EIGVAL),
             light.get('eigvec', IMAGENET_EIGVEC), light.get('alphastd',
                                                             0.1))),
    ]
    return steps, lambda path: path


def run_once(steps, start, paths, stage_times):
    """Push every image through ``steps``; add seconds per stage to
    ``stage_times``; return the total seconds and the last output."""
    clock = time.perf_counter
    total_start = clock()
    out = None
    for path in paths:
        data = start(path)
        for name, fn in steps:
            t = clock()
            data = fn(data)
            stage_times[name] += clock() - t
        out = data
    return clock() - total_start, out


def output_tensor(out):
    return out['inputs'] if isinstance(out, dict) else out


def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument(
        '--config',
        default=DEFAULT_CONFIG,
        help='config whose train_pipeline is "ours"')
    parser.add_argument(
        '--images', type=int, default=64, help='number of synthetic JPEGs')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        metavar=('W', 'H'),
        help='one image size for all images (default: a '
        'mix of ImageNet-like sizes around 500 x 375)')
    parser.add_argument(
        '--antialias',
        action='store_true',
        help='torchvision resize with antialias=True')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--decode-backends',
        nargs='+',
        metavar='BACKEND',
        choices=('cv2', 'pillow'),
        help='run ours once per mmcv decode backend '
        '(default: once, with the config\'s)')
    add_run_args(parser, repeats=5, threads=None)
    args = parser.parse_args(argv)
    for key in ('images', 'repeats'):
        if getattr(args, key) < 1:
            parser.error(f'--{key} must be >= 1, got {getattr(args, key)}')
    if not os.path.isfile(args.config):
        parser.error(f'--config: file {args.config!r} does not exist')
    torch.set_num_threads(1)
    cv2.setNumThreads(0)  # OpenCV without worker threads (as mmengine's
    # dataloader workers: env_cfg.opencv_num_threads=0)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.decode_backends:
        variants = {
            f'ours-{b}': build_ours(args.config, b)
            for b in args.decode_backends
        }
    else:
        variants = {'ours': build_ours(args.config)}
    variants['torchvision'] = build_torchvision(args.config, args.antialias)
    sizes = (tuple(args.size), ) if args.size else SIZES
    with tempfile.TemporaryDirectory() as folder:
        paths = write_images(folder, args.images, sizes, seed=args.seed)
        for steps, start in variants.values():  # warm-up, one image
            run_once(steps, start, paths[:1], {name: 0. for name, _ in steps})
        times = {name: [] for name in variants}
        stages = {name: [] for name in variants}
        shapes = {}
        for _ in range(args.repeats):  # interleaved repeats
            for name, (steps, start) in variants.items():
                per_stage = {step: 0. for step, _ in steps}
                sec, out = run_once(steps, start, paths, per_stage)
                times[name].append(sec)
                stages[name].append(per_stage)
                tensor = output_tensor(out)
                shapes[name] = [list(tensor.shape), str(tensor.dtype)]
    n = len(paths)
    result = dict(
        images=n,
        sizes=[list(s) for s in sizes],
        repeats=args.repeats,
        threads=1,
        antialias=args.antialias,
        output=shapes,
        images_per_s={},
        ms_per_image={},
        stages_ms={})
    for name in variants:
        best = sorted(range(args.repeats), key=lambda i: times[name][i])
        mid = best[len(best) // 2]  # the median repeat
        result['images_per_s'][name] = n / times[name][mid]
        result['ms_per_image'][name] = 1e3 * times[name][mid] / n
        result['stages_ms'][name] = {
            step: 1e3 * statistics.median(r[step] for r in stages[name]) / n
            for step in stages[name][0]
        }
    ips = result['images_per_s']
    result['ratios'] = {
        name: ips[name] / ips['torchvision']
        for name in variants if name != 'torchvision'
    }
    result['ratio'] = next(iter(result['ratios'].values()))  # the first
    print(f'{n} JPEGs, sizes {result["sizes"]}, {args.repeats} interleaved '
          f'repeats, 1 thread')
    print(f'{"pipeline":<14}{"img/s":>9}{"ms/img":>9}')
    for name in variants:
        print(f'{name:<14}{ips[name]:>9.1f}'
              f'{result["ms_per_image"][name]:>9.2f}')
    for name, ratio in result['ratios'].items():
        print(f'ratio {name} / torchvision: {ratio:.2f}x')
    for name in variants:
        print(f'\nper stage, {name} (ms per image, median)')
        for step, ms in result['stages_ms'][name].items():
            print(f'  {step:<22}{ms:>8.3f}')
    return write_json(args.out, result)


if __name__ == '__main__':
    main()
