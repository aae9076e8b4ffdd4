"""What PReLU (§2.1) costs over ReLU in training: time and saved memory.

The variants, side by side in one process:

* ``relu``: ``dict(type='ReLU')`` (in place, as every mmprelu net builds it);
* ``lean``: :class:`~mmprelu.models.utils.PReLU` as built by default
  (``impl='lean'``: the autograd function of
  :mod:`mmprelu.models.utils.prelu_function`, which keeps the output);
* ``torch``: ``impl='torch'``, i.e. ``torch.nn.PReLU``'s own ``F.prelu``;
* ``lean-shared`` / ``torch-shared``: the same, channel-shared;
* ``leaky``: an in-place LeakyReLU with the fixed slope 0.25, the floor
  for any rectifier whose negative side is not zero (one pass each way, no
  slope gradient).

``--variants`` picks them (default ``relu lean torch``). Measurements:

* ``step``: one training step (forward, cross-entropy, backward, SGD step)
  of a PReLU-net (``PReLUNet`` ``--arch``, default A, with widths times
  ``--width``, default 1, SPP, ``PReLUNetHead`` with ``--hidden`` fc
  widths) on a ``--batch x 3 x --size x --size`` batch (default 4 x 3 x
  112 x 112; every variant built from seed 0; MSRA init is slope-aware, so
  conv weights differ by the Eq. 15 factor). SPP levels finer than the
  last map are dropped.
* ``act``: the activation alone, forward + backward, on an ``--act-shape``
  tensor (default 16 x 256 x 56 x 56, the first stage of model A at 224;
  ReLU and LeakyReLU out of place here, since the input is a leaf).
* ``saved``: the bytes autograd keeps for the backward of one training
  step, counted with ``torch.autograd.graph.saved_tensors_hooks`` over
  distinct storages (a tensor saved by two layers, e.g. an in-place
  ReLU's output that the next conv also saves, counts once; parameters
  are left out): the part of a step's peak memory that depends on the
  activation.

Timing: ``--repeats`` interleaved rounds (every variant once per round,
the order rotating), after one warm-up; each ratio is the median over
rounds of ``time(variant) / time(relu)`` within the same round. Time is
wall time, or with ``--clock cpu`` the process's CPU time.

    python benchmarks/prelu_overhead.py --threads 1 --repeats 9 \\
        --out prelu_overhead.json
"""
import statistics
import time

import torch
import torch.nn.functional as F

from mmprelu.models import PReLUNet, PReLUNetHead, SpatialPyramidPooling
from mmprelu.models.utils import build_activation

if __package__:  # imported (tests): benchmarks.prelu_overhead
    from ._common import (add_model_args, add_run_args, apply_run_args,
                          make_parser, write_json)
else:  # run as a script: its folder is sys.path[0]
    from _common import (add_model_args, add_run_args, apply_run_args,
                         make_parser, write_json)

#: variant name -> act_cfg of every activation
VARIANTS = {
    'relu': dict(type='ReLU'),
    'lean': dict(type='PReLU'),
    'torch': dict(type='PReLU', impl='torch'),
    'lean-shared': dict(type='PReLU', channel_shared=True),
    'torch-shared': dict(type='PReLU', channel_shared=True, impl='torch'),
    'leaky': dict(type='LeakyReLU', negative_slope=0.25, inplace=True),
}
DEFAULT_VARIANTS = ('relu', 'lean', 'torch')


def build_net(arch, width, hidden, size, num_classes, act_cfg):
    """A reduced PReLU-net (trunk, SPP, head) with ``act_cfg`` everywhere,
    MSRA-initialised from seed 0."""
    settings = PReLUNet.parse_arch(arch)
    settings['channels'] = tuple(
        max(1, int(c * width)) for c in settings['channels'])
    fmap = PReLUNet.feature_size(settings, size)
    levels = tuple(n for n in (7, 3, 2, 1) if n <= fmap)
    if not levels:
        raise ValueError(f'--size {size} leaves no feature map for SPP')
    torch.manual_seed(0)
    backbone = PReLUNet(settings, act_cfg=act_cfg)
    neck = SpatialPyramidPooling(levels)
    head = PReLUNetHead(
        num_classes,
        neck.out_channels(settings['channels'][-1]),
        mid_channels=(hidden, hidden),
        act_cfg=act_cfg)
    backbone.init_weights()
    head.init_weights()
    net = torch.nn.Sequential(backbone, neck, head)
    return net.train(), levels, fmap


def train_step(net, optimizer, images, labels):
    optimizer.zero_grad(set_to_none=True)
    backbone, neck, head = net
    logits = head(neck(backbone(images)[-1:]))
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    optimizer.step()
    return loss


def saved_bytes(fn, params=()):
    """Bytes of the distinct storages autograd saves while ``fn`` runs
    (``fn`` returns the loss; the graph is freed after counting), leaving
    out those of ``params`` (they exist whether saved or not)."""
    storages = {}
    skip = {p.untyped_storage().data_ptr() for p in params}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in skip:
            storages[(s.data_ptr(), t.device)] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return sum(storages.values())


def act_fn(name, shape):
    """fwd + bwd of one activation on a fresh leaf of ``shape``."""
    cfg = dict(VARIANTS[name])
    if cfg['type'] != 'PReLU':  # a leaf cannot be written over
        cfg['inplace'] = False
    module = build_activation(cfg, shape[1])
    x = torch.randn(shape).requires_grad_()
    grad = torch.randn(shape)

    def run():
        x.grad = None
        module.zero_grad(set_to_none=True)
        module(x).backward(grad)

    return run


#: ``--clock``: wall time, or the CPU time of the process (all threads):
#: on a machine shared with other jobs, time spent waiting for a core
#: then counts for nobody
CLOCKS = {'wall': time.perf_counter, 'cpu': time.process_time}


def interleaved(fns, repeats, clock=time.perf_counter):
    """Median seconds per variant and median per-repeat ratio to relu."""
    names = list(fns)
    for fn in fns.values():  # warm-up
        fn()
    times = {n: [] for n in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            start = clock()
            fns[n]()
            times[n].append(clock() - start)
    seconds = {n: statistics.median(v) for n, v in times.items()}
    ratio = {
        n: statistics.median(t / b for t, b in zip(v, times['relu']))
        for n, v in times.items()
    }
    return seconds, ratio


def main(argv=None):
    parser = make_parser(__doc__)
    add_model_args(parser, arch='A', archs='A, B, C, 14 or 30')
    parser.set_defaults(width=1.0)  # the paper's model A
    parser.add_argument('--size', type=int, default=112, help='input side')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--classes', type=int, default=1000)
    parser.add_argument(
        '--act-shape',
        default='16,256,56,56',
        help='N,C[,H,W...] of the activation-alone test')
    parser.add_argument(
        '--variants',
        nargs='+',
        default=DEFAULT_VARIANTS,
        choices=list(VARIANTS),
        metavar='NAME',
        help=f'among {list(VARIANTS)} (relu is always in)')
    parser.add_argument('--clock', choices=list(CLOCKS), default='wall')
    add_run_args(parser, repeats=9, threads=1)
    args = parser.parse_args(argv)
    apply_run_args(args)
    shape = tuple(int(v) for v in args.act_shape.split(','))
    if len(shape) < 2 or min(shape) < 1:
        parser.error(f'--act-shape needs N,C[,...] positive ints, got '
                     f'{args.act_shape!r}')
    names = ['relu'
             ] + [n for n in VARIANTS if n in args.variants and n != 'relu']

    gen = torch.Generator().manual_seed(1)
    images = torch.randn(args.batch, 3, args.size, args.size, generator=gen)
    labels = torch.randint(args.classes, (args.batch, ), generator=gen)
    steps, saved = {}, {}
    for name in names:
        net, levels, fmap = build_net(args.arch, args.width, args.hidden,
                                      args.size, args.classes, VARIANTS[name])
        opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
        steps[name] = (lambda n=net, o=opt: train_step(n, o, images, labels))
        backbone, neck, head = net
        saved[name] = saved_bytes(
            lambda: F.cross_entropy(head(neck(backbone(images)[-1:])), labels),
            net.parameters())
    clock = CLOCKS[args.clock]
    step_s, step_ratio = interleaved(steps, args.repeats, clock)
    act_s, act_ratio = interleaved(
        {name: act_fn(name, shape)
         for name in names}, args.repeats, clock)
    mem_ratio = {n: saved[n] / saved['relu'] for n in names}

    result = dict(
        arch=args.arch,
        width=args.width,
        hidden=args.hidden,
        input=[args.batch, 3, args.size, args.size],
        spp_levels=list(levels),
        feature_map=fmap,
        act_shape=list(shape),
        threads=args.threads,
        repeats=args.repeats,
        clock=args.clock,
        torch=torch.__version__,
        step=dict(seconds=step_s, ratio_to_relu=step_ratio),
        act=dict(seconds=act_s, ratio_to_relu=act_ratio),
        saved=dict(
            mib={
                n: b / 2**20
                for n, b in saved.items()
            },
            ratio_to_relu=mem_ratio))
    print(f'{args.arch} x{args.width}, fc {args.hidden}, input '
          f'{args.batch}x3x{args.size}x{args.size}, activation alone '
          f'{"x".join(map(str, shape))}, {args.repeats} interleaved rounds, '
          f'{args.threads or torch.get_num_threads()} thread(s), '
          f'{args.clock} time')
    print(f"{'variant':<14}{'step ms':>9}{'step/relu':>11}{'act ms':>9}"
          f"{'act/relu':>10}{'saved MiB':>11}{'saved/relu':>12}")
    for n in names:
        print(f'{n:<14}{step_s[n] * 1e3:>9.1f}{step_ratio[n]:>11.3f}'
              f'{act_s[n] * 1e3:>9.2f}{act_ratio[n]:>10.2f}'
              f'{saved[n] / 2**20:>11.1f}{mem_ratio[n]:>12.3f}')
    return write_json(args.out, result)


if __name__ == '__main__':
    main()
