"""What one training image costs at several batch sizes, on the CPU.

The digits demo (``configs/prelu_net_tiny_1xb64_digits.py``) trains on one
CPU thread; its batch size was chosen with this benchmark: a larger batch
makes the convolutions' and fc layers' matrix products larger, so an image
costs less, up to a point. For each ``--batches`` size: one training step
(forward, cross-entropy, backward, SGD step with momentum) of the config's
model on random ``--size x --size`` crops (the config's training crop,
56 for the demo), timed interleaved with the other sizes
(``--repeats``, medians, after one warm-up step each).

Printed per batch size: seconds per step, milliseconds per image, and the
per-image cost relative to the first size. ``--threads`` defaults to 1,
as the demo pins it (``OMP_NUM_THREADS=1`` in tools/demo_digits.sh).

    python benchmarks/batch_size.py [--config CFG] [--batches 32,64,128]
"""
import os.path as osp
import sys

import torch

try:  # run as a script: the folder is sys.path[0]
    from _common import (add_run_args, apply_run_args, interleaved_medians,
                         make_parser, write_json)
except ImportError:  # imported by the tests
    from benchmarks._common import (add_run_args, apply_run_args,
                                    interleaved_medians, make_parser,
                                    write_json)

DEMO = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
    'prelu_net_tiny_1xb64_digits.py')


def parse_args(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument(
        '--config',
        default=DEMO,
        help='the model of this config (default: the '
        'digits demo config)')
    parser.add_argument(
        '--batches', default='32,64,128', help='comma-separated batch sizes')
    parser.add_argument(
        '--size',
        type=int,
        default=56,
        help='crop size (the demo trains on 56x56 crops)')
    add_run_args(parser, repeats=10, threads=1)
    args = parser.parse_args(argv)
    try:
        args.batches = [int(b) for b in args.batches.split(',')]
    except ValueError:
        parser.error(f'--batches {args.batches!r}: expected comma-separated '
                     f'integers, e.g. 32,64,128')
    if not args.batches or min(args.batches) < 1:
        parser.error(f'--batches {args.batches}: every size must be >= 1')
    return args


def build_model(config: str):
    """The config's model in training mode, and its number of classes:
    read as our tools read configs (``mmprelu::`` bases too), built by
    mmpretrain's ``get_model``."""
    from mmpretrain import get_model

    import mmprelu  # noqa: F401  (registers our modules)
    from mmprelu.apis.config_loader import load_config
    cfg = load_config(config)
    return get_model(cfg).train(), cfg.model.head.num_classes


def step_fn(model, batch: int, size: int, classes: int):
    """One SGD step on a fixed random batch."""
    gen = torch.Generator().manual_seed(batch)
    images = torch.randn(batch, 3, size, size, generator=gen)
    labels = torch.randint(0, classes, (batch, ), generator=gen)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

    def step():
        logits = model.head(model.extract_feat(images))
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def main(argv=None) -> dict:
    args = parse_args(argv)
    apply_run_args(args)
    model, classes = build_model(args.config)
    steps = {
        str(b): step_fn(model, b, args.size, classes)
        for b in args.batches
    }
    for step in steps.values():  # warm-up
        step()
    seconds, _ = interleaved_medians(steps, args.repeats)
    per_image = {b: seconds[str(b)] / b for b in args.batches}
    first = per_image[args.batches[0]]
    result = dict(
        config=args.config,
        size=args.size,
        threads=torch.get_num_threads(),
        repeats=args.repeats,
        seconds_per_step={str(b): seconds[str(b)]
                          for b in args.batches},
        ms_per_image={
            str(b): 1e3 * t
            for b, t in per_image.items()
        },
        ratio_to_first={
            str(b): t / first
            for b, t in per_image.items()
        })
    print(f'{args.config}: one training step, {args.size}x{args.size} '
          f'crops, {result["threads"]} thread(s), median of '
          f'{args.repeats}')
    for b in args.batches:
        print(f'  batch {b:4d}: {seconds[str(b)] * 1e3:8.1f} ms per step, '
              f'{per_image[b] * 1e3:6.2f} ms per image '
              f'(x{per_image[b] / first:.2f} of batch {args.batches[0]})')
    return write_json(args.out, result)


if __name__ == '__main__':
    main(sys.argv[1:])
