"""The cases benchmarks/gpu_bench.py times: models, optimizer wrappers, one
training-step case and one dense-test case (PReLU and ReLU)."""
import logging
import os.path as osp
import time
from contextlib import contextmanager
from types import SimpleNamespace

import torch
from mmengine.config import Config

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
        settings['channels'] = tuple(
            max(4, c // 16) for c in settings['channels'])
        model['backbone']['arch'] = settings
        model['head'].update(
            num_classes=10,
            mid_channels=(64, 64),
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


def cpu_amp_wrapper_type(dtype):
    """CPU stand-in for ``AmpOptimWrapper(dtype=dtype)``, which mmengine
    0.10.7 refuses without CUDA: the same autocast around the forward and
    loss, no loss scaler."""
    from mmengine.optim import OptimWrapper

    class CPUAmpOptimWrapper(OptimWrapper):

        @contextmanager
        def optim_context(self, model):
            with super().optim_context(model), torch.autocast(
                    'cpu', dtype=getattr(torch, dtype)):
                yield

    return CPUAmpOptimWrapper


def amp_dtype(case):
    """'bfloat16' / 'float16' for mixed-precision cases, else None."""
    parts = case.split('+')
    return ('bfloat16'
            if 'bf16' in parts else 'float16' if 'fp16' in parts else None)


def optim_wrapper(model, case, device):
    """What ``tools/train.py`` builds (``--amp`` for fp16 cases, ``--amp
    --cfg-options optim_wrapper.dtype=bfloat16`` for bf16 cases), with our
    constructor (plain-dict param groups, merged by settings)."""
    from mmengine.optim import build_optim_wrapper
    cfg = dict(
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
        constructor='PReLUOptimWrapperConstructor')
    dtype = amp_dtype(case)
    if dtype and device.startswith('cuda'):
        cfg.update(type='AmpOptimWrapper', dtype=dtype, loss_scale='dynamic')
    elif dtype:
        cfg.update(type=cpu_amp_wrapper_type(dtype))
    return build_optim_wrapper(model, cfg)


def batch(n, height, width, classes, device, labels=True):
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(0)
    inputs = torch.randint(
        0, 256, (n, 3, height, width), generator=gen,
        dtype=torch.uint8).to(device)
    samples = None
    if labels:
        samples = [
            DataSample().set_gt_label(int(i) % classes) for i in range(n)
        ]
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


def train_case(arch, case, acts, args, macs):
    """Rows of one training-step case for each of ``acts`` (timed
    interleaved when there are several). Compile cases get one act each:
    the first (eager) step and the compiling call are timed apart as
    ``compile_s``."""
    from mmprelu.engine.hooks import ChannelsLastHook
    steps, compile_s, wrappers, bs = {}, {}, {}, args.batch[arch]
    parts = case.split('+')
    torch.compiler.reset()  # no guards / caches of earlier cases
    for act in acts:
        model = build_model(arch, act, args.tiny, args.device).train()
        wrapper = optim_wrapper(model, case, args.device)
        wrappers[act] = wrapper
        if 'cl' in parts:
            runner = SimpleNamespace(
                model=model, logger=logging.getLogger('bench'))
            ChannelsLastHook().before_train(runner)
        step = model.train_step
        data = batch(bs, args.size, args.size, model.head.num_classes,
                     args.device)
        if 'compile' in parts:
            # one eager step first: the momentum buffers exist before
            # Dynamo traces SGD.step (torch 2.14 can fail tracing the
            # first-step branch after other models were traced)
            step(data, wrapper)
            step = torch.compile(step, backend=args.compile_backend)
            sync(args.device)
            start = time.perf_counter()
            step(data, wrapper)  # as mmengine's compile=True
            sync(args.device)
            compile_s[act] = time.perf_counter() - start
        steps[act] = (lambda s=step, d=data, w=wrapper: s(d, w))
    sec = interleaved(steps, args.device, args.iters, args.warmup,
                      args.repeats)
    rows = {}
    for act, s in sec.items():
        rows[act] = dict(
            batch=bs,
            ms_per_step=1e3 * s,
            img_per_s=bs / s,
            tflops=3 * 2 * macs * bs / s / 1e12,
            wrapper=type(wrappers[act]).__name__)
        scaler = getattr(wrappers[act], 'loss_scaler', None)
        if scaler is not None:  # fp16: drops when gradients overflow
            rows[act]['loss_scale'] = float(scaler.get_scale())
        if act in compile_s:
            rows[act].update(
                compile_s=compile_s[act], backend=args.compile_backend)
    return rows


def dense_windows(tta, data):
    """Windows per image and the implementation ``dense_impl='auto'``
    takes for them (``DenseWindowTTA.impl_for``)."""
    from mmprelu.models.utils.dense import window_grid
    model = tta.module
    with torch.no_grad():
        inputs = model.data_preprocessor(data, False)['inputs']
        fmap = model.backbone(inputs[:1])[-1]
    _, _, ny, nx = window_grid(*fmap.shape[-2:], tta.window, tta.stride)
    return ny * nx, tta.impl_for(fmap)


def dense_case(arch, case, size, args):
    """Rows of the dense test (§5.1, ``DenseWindowTTA``, every window of
    the last map) on ``size`` images, one view, fp32 or under bf16
    autocast on the benchmark's device."""
    from torch.utils.flop_counter import FlopCounterMode

    from mmprelu.models import DenseWindowTTA
    steps, flops, info = {}, {}, {}
    h, w = size
    n = args.dense_batch
    autocast = torch.autocast(
        args.device.split(':')[0], torch.bfloat16, enabled=case == 'bf16')
    for act in ACTS:
        model = build_model(arch, act, args.tiny, args.device).eval()
        tta = DenseWindowTTA(model, window=7 if args.tiny else 14)
        data = batch(n, h, w, 1, args.device, labels=False)
        info[act] = dense_windows(tta, data)

        def step(t=tta, d=data):
            with torch.no_grad(), autocast:
                return t.predict(**t.module.data_preprocessor(d, False))

        counter = FlopCounterMode(display=False)
        with counter:
            step()
        flops[act] = counter.get_total_flops()
        steps[act] = step
    sec = interleaved(steps, args.device, args.iters, args.warmup,
                      args.repeats)
    return {
        act:
        dict(
            batch=n,
            image=[h, w],
            windows=info[act][0],
            impl=info[act][1],
            ms_per_batch=1e3 * s,
            img_per_s=n / s,
            tflops=flops[act] / s / 1e12)
        for act, s in sec.items()
    }
