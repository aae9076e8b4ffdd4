"""Training-step and dense-test throughput of PReLU-nets, PReLU vs ReLU.

For each arch (full size: A and C at 224 x 224) and each case

* ``fp32``: the plain ``OptimWrapper`` (TF32 left at PyTorch's default);
* ``cl``: fp32 after ``ChannelsLastHook`` (NHWC weights);
* ``fp16``: ``AmpOptimWrapper(dtype='float16', loss_scale='dynamic')``,
  what ``tools/train.py --amp`` builds; the row keeps the loss scale
  reached (it halves at every overflowing step);
* ``bf16``: ``AmpOptimWrapper(dtype='bfloat16', loss_scale='dynamic')``,
  what ``tools/train.py --amp --cfg-options optim_wrapper.dtype=bfloat16``
  builds (fp16 / bf16 on CPU, where mmengine refuses the wrapper: a
  stand-in with the same autocast and no loss scaler);
* ``bf16+cl``: the same after ``ChannelsLastHook`` (NHWC weights);
* ``bf16+cl+compile``: the same with ``model.train_step`` wrapped in
  ``torch.compile``, which is what mmengine's ``compile=True`` does;

(``--cases compile``: fp32 with ``torch.compile``); one training step is
``model.train_step(data, optim_wrapper)`` exactly as mmengine's loop calls
it (data preprocessor, forward, loss, backward, SGD momentum step with no
decay on the slopes). The PReLU and ReLU models of a case run interleaved
(``--repeats`` chunks of ``--iters / --repeats`` steps each, after
``--warmup`` untimed steps; ``torch.cuda.synchronize`` around every timed
chunk). Compile cases build one model each (PReLU and ReLU are two cases,
not interleaved) and report the compiling call as ``compile_s``.

The dense test (``DenseWindowTTA``, §5.1, every 14 x 14 window of
the last map) runs in fp32 and under bf16 autocast on each of
``--dense-sizes``: 256 x 341 (24 windows: the explicit-window path) and
384 x 512 (209 windows, more than one chunk of 64: the conv path of
``mmprelu/models/utils/dense.py``); each row says which.

TFLOP/s come from the analytical multiply-adds of one 224 x 224 forward
(convolutions and fc layers counted on the ``meta`` device with
``FlopCounterMode``, as ``tools/analysis/get_flops.py`` does; activations,
pooling and the loss are not counted): a training step is taken as 3x the
forward (forward + backward for inputs + backward for weights), i.e.
``3 * 2 * MACs * batch`` FLOPs. The dense test is counted by
``FlopCounterMode`` on one untimed call.

Order and caps: every other case first, compile cases last (one model
each). Cases start only while ``--budget`` seconds last, compile cases
while ``--compile-budget`` seconds last; a skipped case is listed with its
reason. The JSON (``--out``) is written before each case (naming it under
``running``) and after each, so a run killed by a timeout keeps every row
measured and says which case it was in.

    python benchmarks/gpu_bench.py                 # CUDA if available
    python benchmarks/gpu_bench.py --device cpu --tiny --no-compile
"""
import argparse
import logging
import time

import torch

if __package__:  # imported (tests): benchmarks.gpu_bench
    from ._common import cpu_autocast_supports, write_json
    from .gpu_cases import ACTS, dense_case, forward_macs, train_case
else:  # run as a script: its folder is sys.path[0]
    from gpu_cases import ACTS, dense_case, forward_macs, train_case

    from _common import cpu_autocast_supports, write_json

CASES = ('fp32', 'cl', 'fp16', 'bf16', 'bf16+cl', 'bf16+cl+compile')
EXTRA_CASES = ('compile', )  # fp32 + compile: not run unless asked
DENSE_CASES = ('fp32', 'bf16')


def parse_size(text):
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'image size {text!r}: expected HxW, e.g. 384x512')
    return h, w


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--device', default=None, help='cuda (default when available) or cpu')
    parser.add_argument(
        '--tiny',
        action='store_true',
        help='1/16 widths, 112 px, batch 2, dense window 7 '
        '(CPU tests)')
    parser.add_argument('--archs', nargs='+', default=['A', 'C'])
    parser.add_argument(
        '--batch',
        nargs='+',
        type=int,
        default=None,
        help='train batch per arch (default A 64, C 32)')
    parser.add_argument(
        '--cases', nargs='+', default=list(CASES), choices=CASES + EXTRA_CASES)
    parser.add_argument('--no-compile', action='store_true')
    parser.add_argument(
        '--compile-backend',
        default='inductor',
        help='torch.compile backend (tests: eager)')
    parser.add_argument('--no-dense', action='store_true')
    parser.add_argument(
        '--dense-sizes',
        nargs='+',
        type=parse_size,
        default=None,
        metavar='HxW',
        help='default 256x341 384x512 (tiny: 128x160 '
        '224x256)')
    parser.add_argument('--dense-batch', type=int, default=None)
    parser.add_argument(
        '--iters',
        type=int,
        default=None,
        help='timed steps per model and case (default 20)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=None,
        help='untimed steps first (default 5)')
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument(
        '--budget',
        type=float,
        default=360.,
        help='seconds; later non-compile cases are skipped '
        'once spent')
    parser.add_argument(
        '--compile-budget',
        type=float,
        default=None,
        help='seconds; later compile cases are skipped '
        'once spent (default: --budget)')
    parser.add_argument('--out', help='write the results as JSON here')
    args = parser.parse_args(argv)
    args.device = args.device or ('cuda'
                                  if torch.cuda.is_available() else 'cpu')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error('--device cuda: torch.cuda.is_available() is False')
    tiny = args.tiny
    args.size = 112 if tiny else 224
    defaults = dict(
        dense_sizes=[(128, 160), (224, 256)] if tiny else [(256, 341),
                                                           (384, 512)],
        dense_batch=2 if tiny else 8,
        iters=2 if tiny else 20,
        warmup=1 if tiny else 5,
        compile_budget=args.budget)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    batches = args.batch or [
        2 if tiny else {
            'A': 64
        }.get(a, 32) for a in args.archs
    ]
    if len(batches) != len(args.archs):
        parser.error(f'--batch: give one size per arch {args.archs}, got '
                     f'{batches}')
    args.batch = dict(zip(args.archs, batches))
    for key in ('iters', 'repeats', 'dense_batch'):
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be >= 1')
    if args.no_compile:
        args.cases = [c for c in args.cases if 'compile' not in c]
    if args.device.split(':')[0] == 'cpu':
        if not cpu_autocast_supports(torch.float16):
            dropped = [c for c in args.cases if 'fp16' in c.split('+')]
            if dropped:
                print(f'skipping {dropped}: torch {torch.__version__} has no '
                      'float16 CPU autocast (CUDA fp16 is not affected)')
            args.cases = [c for c in args.cases if c not in dropped]
    return args


def plan(args):
    """Jobs ``(arch, kind, case, size, acts)``: training and dense cases
    (both acts, interleaved), then compile cases, one act each."""
    jobs, compiled = [], []
    for arch in args.archs:
        for case in args.cases:
            if 'compile' in case:
                compiled += [(arch, 'train', case, None, (act, ))
                             for act in ACTS]
            else:
                jobs.append((arch, 'train', case, None, ACTS))
        if not args.no_dense:
            jobs += [(arch, 'dense', case, size, ACTS)
                     for size in args.dense_sizes for case in DENSE_CASES]
    return jobs + compiled


def label(kind, case, size):
    return f'{kind} {case}' + (f' {size[0]}x{size[1]}' if size else '')


def record(result, arch, kind, case, size, rows):
    """Put ``rows`` in ``result`` (``train/ARCH/CASE/ACT`` or
    ``dense/ARCH/HxW/CASE/ACT``) and add the ReLU / PReLU speed ratio once
    both rows of a case are there."""
    node = result[kind].setdefault(arch, {})
    if size:
        node = node.setdefault(f'{size[0]}x{size[1]}', {})
    node = node.setdefault(case, {})
    node.update(rows)
    if all(act in node for act in ACTS):
        node['relu_over_prelu_speed'] = (
            node['ReLU']['img_per_s'] / node['PReLU']['img_per_s'])
    return node


def print_rows(arch, name, rows, node):
    for act, row in rows.items():
        ms = row.get('ms_per_step', row.get('ms_per_batch'))
        extra = (f'  {row["windows"]} windows, {row["impl"]}'
                 if 'windows' in row else '')
        if 'compile_s' in row:
            extra = f'  compiled in {row["compile_s"]:.0f} s'
        print(
            f'{arch:<5}{name:<26}{act:<7}{row["batch"]:>6}{ms:>9.1f}'
            f'{row["img_per_s"]:>9.1f}{row["tflops"]:>9.2f}{extra}',
            flush=True)
    if 'relu_over_prelu_speed' in node:  # once the case's rows are in
        print(
            f'{"":<31}ReLU / PReLU speed '
            f'{node["relu_over_prelu_speed"]:.2f}x',
            flush=True)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.logging import MMLogger

    import mmprelu  # noqa: F401  (registers the models)
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # init logs
    if args.device == 'cpu':
        torch.set_num_threads(1)
    start = time.perf_counter()
    result = dict(
        device=args.device,
        tiny=args.tiny,
        size=args.size,
        iters=args.iters,
        warmup=args.warmup,
        flops_rule=('train step = 3 x forward = 6 x MACs per image'),
        macs={},
        train={},
        dense={},
        skipped=[])
    if args.device.startswith('cuda'):
        result['gpu'] = torch.cuda.get_device_name()
    print(f'torch {torch.__version__}, mmprelu {mmprelu.__version__} from '
          f'{mmprelu.__file__}; {result.get("gpu", "no GPU")}')
    print(f'device {args.device}, {"tiny " if args.tiny else ""}'
          f'{args.size}x{args.size}, {args.iters} timed steps after '
          f'{args.warmup} warm-up, PReLU and ReLU interleaved')
    print(f'{"arch":<5}{"case":<26}{"act":<7}{"batch":>6}{"ms":>9}'
          f'{"img/s":>9}{"TFLOP/s":>9}')
    for arch, kind, case, size, acts in plan(args):
        name = label(kind, case, size)
        if arch not in result['macs']:
            result['macs'][arch] = forward_macs(arch, args.size, args.tiny)
        compiled = 'compile' in case
        budget = args.compile_budget if compiled else args.budget
        if time.perf_counter() - start > budget:
            reason = f'time budget of {budget:.0f} s spent'
            result['skipped'].append(
                dict(
                    arch=arch,
                    kind=kind,
                    case=case,
                    size=size,
                    acts=list(acts),
                    reason=reason))
            print(
                f'{arch:<5}{name:<26}{"/".join(acts):<7}skipped: '
                f'{reason}',
                flush=True)
            continue
        result['running'] = dict(
            arch=arch, kind=kind, case=case, size=size, acts=list(acts))
        write_json(args.out, result)  # a kill now names the case
        if args.device.startswith('cuda'):
            torch.cuda.empty_cache()
        rows = (
            train_case(arch, case, acts, args, result['macs'][arch])
            if kind == 'train' else dense_case(arch, case, size, args))
        node = record(result, arch, kind, case, size, rows)
        del result['running']
        write_json(args.out, result)  # every row as soon as measured
        print_rows(arch, name, rows, node)
    result['seconds'] = time.perf_counter() - start
    print(f'total {result["seconds"]:.0f} s')
    write_json(args.out, result)
    return result


if __name__ == '__main__':
    main()
