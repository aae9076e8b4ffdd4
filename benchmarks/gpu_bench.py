"""Training-step and dense-test throughput of PReLU-nets, PReLU vs ReLU.

For each arch (full size: A and C at 224 x 224) and each case

* ``fp32``: the plain ``OptimWrapper`` (TF32 left at PyTorch's default);
* ``cl``: fp32 after ``ChannelsLastHook`` (NHWC weights);
* ``bf16``: ``AmpOptimWrapper(dtype='bfloat16', loss_scale='dynamic')``,
  what ``tools/train.py --amp --cfg-options optim_wrapper.dtype=bfloat16``
  builds (CUDA only);
* ``bf16+cl``: the same after ``ChannelsLastHook`` (NHWC weights);
* ``bf16+cl+compile``: the same with ``model.train_step`` wrapped in
  ``torch.compile``, which is what mmengine's ``compile=True`` does;

(``--cases compile``: fp32 with ``torch.compile``, also on CPU); one
training step is ``model.train_step(data, optim_wrapper)`` exactly as
mmengine's loop calls it (data preprocessor, forward, loss, backward, SGD
momentum step with no decay on the slopes). The PReLU and ReLU models of a
case run interleaved (``--repeats`` chunks of ``--iters / --repeats``
steps each, after ``--warmup`` untimed steps; ``torch.cuda.synchronize``
around every timed chunk).

TFLOP/s come from the analytical multiply-adds of one 224 x 224 forward
(convolutions and fc layers counted on the ``meta`` device with
``FlopCounterMode``, as ``tools/analysis/get_flops.py`` does; activations,
pooling and the loss are not counted): a training step is taken as 3x the
forward (forward + backward for inputs + backward for weights), i.e.
``3 * 2 * MACs * batch`` FLOPs. The dense test (``test_cfg`` mode
``'dense'``, §5.1, every 14 x 14 window of the last map) is counted by
``FlopCounterMode`` on one untimed call.

A time budget (``--budget``) skips the remaining cases once spent, so the
whole run stays bounded; ``--no-compile`` skips the compile case (its first
steps compile the model, about a minute per model on a GPU).

    python benchmarks/gpu_bench.py                 # CUDA if available
    python benchmarks/gpu_bench.py --device cpu --tiny --no-compile
"""
import argparse
import json
import logging
import os.path as osp
import time
from types import SimpleNamespace

import torch
from mmengine.config import Config

CASES = ('fp32', 'cl', 'bf16', 'bf16+cl', 'bf16+cl+compile')
EXTRA_CASES = ('compile', )  # fp32 + compile: not run unless asked
ACTS = ('PReLU', 'ReLU')
MODEL_CFG = 'configs/_base_/models/prelu_net_{}.py'
MEAN = [123.675, 116.28, 103.53]


def model_cfg(arch, act, tiny):
    """Model config of ``configs/_base_/models`` with ``act`` everywhere;
    ``tiny``: 1/16 of the widths, fc 64, 10 classes."""
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    cfg = Config.fromfile(osp.join(root, MODEL_CFG.format(arch.lower())))
    model = cfg.model.to_dict()
    model['backbone']['act_cfg'] = dict(type=act)
    model['head']['act_cfg'] = dict(type=act)
    model['data_preprocessor'] = dict(
        type='ClsDataPreprocessor', mean=MEAN, std=[1., 1., 1.], to_rgb=True)
    if tiny:
        from mmprelu.models import PReLUNet
        settings = PReLUNet.parse_arch(arch)
        settings['channels'] = tuple(max(4, c // 16)
                                     for c in settings['channels'])
        model['backbone']['arch'] = settings
        model['head'].update(num_classes=10, hidden_channels=(64, 64),
                             in_channels=settings['channels'][-1] * 63)
    return model


def build_model(arch, act, tiny, device):
    from mmengine.registry import init_default_scope

    from mmprelu.registry import MODELS
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    with torch.device(device):
        model = MODELS.build(model_cfg(arch, act, tiny))
    if device != 'meta':
        model.init_weights()
    return model.to(device)  # also tells the data preprocessor its device


def forward_macs(arch, size, tiny):
    """Multiply-adds of one ``size x size`` forward (meta device)."""
    from torch.utils.flop_counter import FlopCounterMode
    model = build_model(arch, 'PReLU', tiny, 'meta').eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.empty(1, 3, size, size, device='meta'), mode='tensor')
    return counter.get_total_flops() // 2


def optim_wrapper(model, case):
    from mmengine.optim import build_optim_wrapper
    cfg = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9,
                              weight_decay=5e-4),
               constructor='PReLUOptimWrapperConstructor')
    if 'bf16' in case:
        cfg.update(type='AmpOptimWrapper', dtype='bfloat16',
                   loss_scale='dynamic')
    wrapper = build_optim_wrapper(model, cfg)
    # mmengine stores paramwise groups as ConfigDicts, which torch.compile
    # (2.14) cannot trace in the optimizer step; plain dicts hold the same
    opt = wrapper.optimizer
    opt.param_groups = [dict(g) for g in opt.param_groups]
    return wrapper


def batch(n, height, width, classes, device, labels=True):
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(0)
    inputs = torch.randint(0, 256, (n, 3, height, width), generator=gen,
                           dtype=torch.uint8).to(device)
    samples = None
    if labels:
        samples = [DataSample().set_gt_label(int(i) % classes)
                   for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def sync(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def interleaved(steps, device, iters, warmup, repeats):
    """Seconds per call of each ``steps[name]()``, interleaved."""
    for fn in steps.values():
        for _ in range(warmup):
            fn()
    sync(device)
    per_chunk = max(1, iters // repeats)
    spent = {name: 0. for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            sync(device)
            start = time.perf_counter()
            for _ in range(per_chunk):
                fn()
            sync(device)
            spent[name] += time.perf_counter() - start
    return {name: s / (per_chunk * repeats) for name, s in spent.items()}


def train_case(arch, case, args, macs):
    from mmprelu.engine.hooks import ChannelsLastHook
    steps, bs = {}, args.batch[arch]
    torch.compiler.reset()  # no guards / caches of earlier cases
    for act in ACTS:
        model = build_model(arch, act, args.tiny, args.device).train()
        wrapper = optim_wrapper(model, case)
        if 'cl' in case.split('+'):
            runner = SimpleNamespace(model=model,
                                     logger=logging.getLogger('bench'))
            ChannelsLastHook().before_train(runner)
        step = model.train_step
        data = batch(bs, args.size, args.size,
                     model.head.num_classes, args.device)
        if 'compile' in case.split('+'):
            # one eager step first: the momentum buffers exist before
            # Dynamo traces SGD.step (torch 2.14 can fail tracing the
            # first-step branch after other models were traced)
            step(data, wrapper)
            step = torch.compile(step)  # as mmengine's compile=True
        steps[act] = (lambda s=step, d=data, w=wrapper: s(d, w))
    sec = interleaved(steps, args.device, args.iters, args.warmup,
                      args.repeats)
    return {act: dict(batch=bs, ms_per_step=1e3 * s, img_per_s=bs / s,
                      tflops=3 * 2 * macs * bs / s / 1e12)
            for act, s in sec.items()}


def dense_case(arch, case, args):
    from torch.utils.flop_counter import FlopCounterMode
    steps, flops = {}, {}
    h, w = args.dense_size
    n = args.dense_batch
    autocast = torch.autocast('cuda', torch.bfloat16,
                              enabled=case == 'bf16')
    for act in ACTS:
        model = build_model(arch, act, args.tiny, args.device).eval()
        model.test_cfg['mode'] = 'dense'
        if args.tiny:
            model.test_cfg['window'] = 7
        data = batch(n, h, w, 1, args.device, labels=False)

        def step(m=model, d=data):
            with torch.no_grad(), autocast:
                return m.test_step(d)
        counter = FlopCounterMode(display=False)
        with counter:
            step()
        flops[act] = counter.get_total_flops()
        steps[act] = step
    sec = interleaved(steps, args.device, args.iters, args.warmup,
                      args.repeats)
    return {act: dict(batch=n, image=[h, w], ms_per_batch=1e3 * s,
                      img_per_s=n / s, tflops=flops[act] / s / 1e12)
            for act, s in sec.items()}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default=None,
                        help='cuda (default when available) or cpu')
    parser.add_argument('--tiny', action='store_true',
                        help='1/16 widths, 112 px, batch 2 (CPU tests)')
    parser.add_argument('--archs', nargs='+', default=['A', 'C'])
    parser.add_argument('--batch', nargs='+', type=int, default=None,
                        help='train batch per arch (default A 64, C 32)')
    parser.add_argument('--cases', nargs='+', default=list(CASES),
                        choices=CASES + EXTRA_CASES)
    parser.add_argument('--no-compile', action='store_true')
    parser.add_argument('--no-dense', action='store_true')
    parser.add_argument('--dense-size', nargs=2, type=int, default=None,
                        metavar=('H', 'W'), help='default 256 341')
    parser.add_argument('--dense-batch', type=int, default=None)
    parser.add_argument('--iters', type=int, default=None,
                        help='timed steps per model and case (default 20)')
    parser.add_argument('--warmup', type=int, default=None,
                        help='untimed steps first (default 5)')
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--budget', type=float, default=360.,
                        help='seconds; later cases are skipped once spent')
    parser.add_argument('--out', help='write the results as JSON here')
    args = parser.parse_args(argv)
    args.device = args.device or ('cuda' if torch.cuda.is_available()
                                  else 'cpu')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error('--device cuda: torch.cuda.is_available() is False')
    tiny = args.tiny
    args.size = 112 if tiny else 224
    defaults = dict(dense_size=(128, 160) if tiny else (256, 341),
                    dense_batch=2 if tiny else 8, iters=2 if tiny else 20,
                    warmup=1 if tiny else 5)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    batches = args.batch or [2 if tiny else {'A': 64}.get(a, 32)
                             for a in args.archs]
    if len(batches) != len(args.archs):
        parser.error(f'--batch: give one size per arch {args.archs}, got '
                     f'{batches}')
    args.batch = dict(zip(args.archs, batches))
    for key in ('iters', 'repeats', 'dense_batch'):
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be >= 1')
    if args.no_compile:
        args.cases = [c for c in args.cases if 'compile' not in c]
    return args


def skip_reason(case, args, start):
    if 'bf16' in case and not args.device.startswith('cuda'):
        return 'bf16 autocast / AmpOptimWrapper need CUDA'
    if time.perf_counter() - start > args.budget:
        return f'time budget of {args.budget:.0f} s spent'
    return None


def main(argv=None):
    args = parse_args(argv)
    import mmprelu  # noqa: F401  (registers the models)
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # init logs
    if args.device == 'cpu':
        torch.set_num_threads(1)
    start = time.perf_counter()
    result = dict(device=args.device, tiny=args.tiny, size=args.size,
                  iters=args.iters, warmup=args.warmup, flops_rule=(
                      'train step = 3 x forward = 6 x MACs per image'),
                  macs={}, train={}, dense={}, skipped=[])
    if args.device.startswith('cuda'):
        result['gpu'] = torch.cuda.get_device_name()
    print(f'device {args.device}, {"tiny " if args.tiny else ""}'
          f'{args.size}x{args.size}, {args.iters} timed steps after '
          f'{args.warmup} warm-up, PReLU and ReLU interleaved')
    print(f'{"arch":<5}{"case":<22}{"act":<7}{"batch":>6}{"ms":>9}'
          f'{"img/s":>9}{"TFLOP/s":>9}')
    jobs = [(arch, 'train', case) for arch in args.archs
            for case in args.cases]
    if not args.no_dense:
        jobs += [(arch, 'dense', case) for arch in args.archs
                 for case in ('fp32', 'bf16')]
    # compiling takes the longest: last, so the budget cuts it first
    jobs.sort(key=lambda job: 'compile' in job[2])
    for arch, kind, case in jobs:
        if arch not in result['macs']:
            result['macs'][arch] = forward_macs(arch, args.size, args.tiny)
        reason = skip_reason(case, args, start)
        if reason:
            result['skipped'].append(dict(arch=arch, kind=kind, case=case,
                                          reason=reason))
            print(f'{arch:<5}{kind + " " + case:<22}skipped: {reason}',
                  flush=True)
            continue
        if args.device.startswith('cuda'):
            torch.cuda.empty_cache()
        rows = (train_case(arch, case, args, result['macs'][arch])
                if kind == 'train' else dense_case(arch, case, args))
        for act, row in rows.items():
            ms = row.get('ms_per_step', row.get('ms_per_batch'))
            print(f'{arch:<5}{kind + " " + case:<22}{act:<7}'
                  f'{row["batch"]:>6}{ms:>9.1f}{row["img_per_s"]:>9.1f}'
                  f'{row["tflops"]:>9.2f}', flush=True)
        rows['relu_over_prelu_speed'] = (rows['ReLU']['img_per_s'] /
                                         rows['PReLU']['img_per_s'])
        print(f'{"":<27}ReLU / PReLU speed '
              f'{rows["relu_over_prelu_speed"]:.2f}x', flush=True)
        result[kind].setdefault(arch, {})[case] = rows
        write_json(args.out, result)  # after every case: a run cut short
        # by a timeout keeps what it measured
    result['seconds'] = time.perf_counter() - start
    print(f'total {result["seconds"]:.0f} s')
    write_json(args.out, result)
    return result


def write_json(path, result):
    if path:
        with open(path, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
