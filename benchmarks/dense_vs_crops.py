"""Dense testing (§5.1) vs the same views evaluated as separate crops.

Side by side in one run, on one image at shorter side ``--scale``:

* ``dense-conv``: the conv trunk once on the whole image, SPP + fc1 on
  every window as stride-1 max pools + dilated ``F.conv2d``, then fc2 / fc3
  on each window's fc1 output (``dense_impl='conv'``);
* ``dense-windows``: the conv trunk once, each window cut out of the feature
  map and pushed through SPP + fc in chunks (the reference,
  ``dense_impl='windows'``; ``'auto'`` picks it for at most 64 windows);
* ``crops``: each window's receptive field cut out of the *image* (a
  ``crop``-pixel crop every ``total_stride`` pixels) and run through the
  whole network, ``--batch`` crops at a time.

Prints the median time of interleaved repeats and the ratios, and the peak
memory of the SPP + fc stage of model C at s = 480 for both dense
implementations (measured in fresh subprocesses, ``ru_maxrss``). Writes
JSON with ``--out``.

    python benchmarks/dense_vs_crops.py --arch A --width 0.25 --scale 256
"""
import json
import resource
import subprocess
import sys

import torch

from mmprelu.models import PReLUNet, PReLUNetHead, SpatialPyramidPooling
from mmprelu.models.utils.dense import (dense_logits_conv,
                                        dense_logits_windows, window_grid)

if __package__:  # imported (tests): benchmarks.dense_vs_crops
    from ._common import (add_model_args, add_run_args, apply_run_args,
                          interleaved_medians, make_parser, write_json)
else:  # run as a script: its folder is sys.path[0]
    from _common import (add_model_args, add_run_args, apply_run_args,
                         interleaved_medians, make_parser, write_json)


def build(arch, width, hidden, num_classes=1000):
    settings = PReLUNet.parse_arch(arch)
    settings['channels'] = tuple(
        max(1, int(c * width)) for c in settings['channels'])
    backbone = PReLUNet(settings)
    neck = SpatialPyramidPooling((7, 3, 2, 1))
    head = PReLUNetHead(
        num_classes,
        neck.out_channels(settings['channels'][-1]),
        mid_channels=(hidden, hidden))
    for m in (backbone, head):
        m.init_weights()
        m.eval()
    return backbone, neck, head


@torch.no_grad()
def run_crops(backbone, neck, head, img, crop, step, ny, nx, batch):
    corners = [(y * step, x * step) for y in range(ny) for x in range(nx)]
    out = []
    for i in range(0, len(corners), batch):
        crops = torch.cat([
            img[..., y:y + crop, x:x + crop] for y, x in corners[i:i + batch]
        ])
        out.append(head(neck(backbone(crops)[-1:]))[:, :])
    return torch.cat(out)


def peak_memory_child(impl, channels, height, width, hidden):
    """Peak RSS (MiB) of SPP + fc over all windows of one feature map."""
    torch.manual_seed(0)
    neck = SpatialPyramidPooling((7, 3, 2, 1))
    head = PReLUNetHead(
        1000, neck.out_channels(channels),
        mid_channels=(hidden, hidden)).eval()
    fmap = torch.randn(1, channels, height, width)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with torch.no_grad():
        if impl == 'conv':
            dense_logits_conv(fmap, neck, head)
        else:
            dense_logits_windows(fmap, neck, head, chunk=10**6)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(dict(peak_mib=(peak - base) / 1024)))


def measure_memory(impl, channels, height, width, hidden):
    code = ('import sys; sys.argv=[""]; from benchmarks.dense_vs_crops '
            f'import peak_memory_child as f; f({impl!r}, {channels}, '
            f'{height}, {width}, {hidden})')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])['peak_mib']


def main(argv=None):
    parser = make_parser(__doc__)
    add_model_args(parser)
    parser.add_argument('--scale', type=int, default=256)
    parser.add_argument('--aspect', type=float, default=4 / 3)
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument(
        '--memory',
        action='store_true',
        help='also measure peak memory of model C, s=480')
    add_run_args(parser, repeats=3)
    args = parser.parse_args(argv)
    apply_run_args(args)
    torch.manual_seed(0)
    backbone, neck, head = build(args.arch, args.width, args.hidden)
    img = torch.randn(1, 3, args.scale, int(args.scale * args.aspect))
    step = backbone.strides[-1]
    window, crop = 14, 14 * backbone.strides[-1]
    with torch.no_grad():
        fmap = backbone(img)[-1]
    _, _, ny, nx = window_grid(*fmap.shape[-2:], window, 1)

    def dense(impl):
        with torch.no_grad():
            f = backbone(img)[-1]
            fn = dense_logits_conv if impl == 'conv' else dense_logits_windows
            return fn(f, neck, head, window, 1)

    methods = {
        'dense-conv':
        lambda: dense('conv'),
        'dense-windows':
        lambda: dense('windows'),
        'crops':
        lambda: run_crops(backbone, neck, head, img, crop, step, ny, nx, args.
                          batch),
    }
    median, outputs = interleaved_medians(methods, args.repeats)
    result = dict(
        arch=args.arch,
        width=args.width,
        hidden=args.hidden,
        image=list(img.shape[-2:]),
        feature_map=list(fmap.shape[-2:]),
        windows=ny * nx,
        seconds=median,
        crops_over_dense_conv=median['crops'] / median['dense-conv'],
        windows_over_dense_conv=median['dense-windows'] / median['dense-conv'],
        max_abs_diff_conv_vs_windows=float(
            (outputs['dense-conv'] - outputs['dense-windows']).abs().max()))
    print(f"{args.arch} x{args.width}, image {tuple(img.shape[-2:])}, "
          f"feature map {tuple(fmap.shape[-2:])}, {ny * nx} windows")
    print(f"{'method':<16}{'median s':>10}{'ratio':>8}")
    for name, sec in median.items():
        print(f'{name:<16}{sec:>10.3f}{sec / median["dense-conv"]:>8.1f}')
    if args.memory:
        # model C, s = 480, 4:3 image: 30 x 40 map of 896 channels, fc 4096
        mem = {
            impl: measure_memory(impl, 896, 30, 40, 4096)
            for impl in ('conv', 'windows')
        }
        fmap_mib = 896 * 30 * 40 * 4 / 2**20
        result['model_c_s480_peak_mib'] = dict(mem, feature_map=fmap_mib)
        print(f'model C, s=480 (map 896x30x40 = {fmap_mib:.1f} MiB): peak '
              f"SPP+fc memory conv {mem['conv']:.0f} MiB, windows "
              f"{mem['windows']:.0f} MiB")
    return write_json(args.out, result)


if __name__ == '__main__':
    main()
