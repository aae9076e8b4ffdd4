"""Signal propagation at initialization (§2.2, Eqs. 9 and 13; §2.5).

    python tools/analysis/signal_propagation.py [--models B 30]
        [--acts ReLU PReLU] [--inits fan_in fan_out xavier std0.01]
        [--width-div 8] [--size 224] [--batch 4] [--out-dir DIR]

For the conv trunks of deep plain nets -- the 22-layer model B (19 conv
layers, Fig. 2) and the 30-layer model of Fig. 3 (27 conv layers), with ReLU
or PReLU -- we draw the weights once with every init and push a batch of
N(0, 1) images through:

* forward: the std of every conv layer's response ``y_l`` (Eq. 9);
* backward: a N(0, 1) gradient is fed at the last response and we record
  the std of the gradient of every conv layer's input ``x_l`` (Eq. 13).

Inits (biases 0): ``fan_in`` std = sqrt(2 / ((1 + a^2) k^2 c)) (Eq. 10/15);
``fan_out`` the same with k^2 d (Eq. 14, what the paper trains with);
``xavier`` std = sqrt(1 / (k^2 c)) (the forward, Gaussian form of [7] used
in §2.5); ``std0.01`` a fixed std of 0.01 (AlexNet). ``a`` is the initial
PReLU slope 0.25 (0 for ReLU). The fc layers are left out: the paper does
not init them by Eq. 14 (§2.4).

Width is divided by ``--width-div`` and the input is ``--size`` pixels to
keep it fast on a CPU; the theory (Eq. 9) does not depend on either.
Besides the last/first ratios over the whole trunk (which include the max
pools and the zero padding of the 2x2 convs, neither in Eq. 9), the table
gives the geometric-mean std change per layer inside the last stage, the
pure Eq. 9 / Eq. 13 factor. Expected: MSRA keeps the std within about x2
of the first layer over the whole depth (factor ~1 per layer), Xavier loses
about 1/sqrt(2) per layer, 0.01 vanishes faster.

Outputs under ``--out-dir``: ``signal_propagation.{md,json,png}``.
"""
import argparse
import math

import torch
import torch.nn as nn

from analysis_utils import (markdown_table, progress, pyplot, save_figure,
                            set_threads, write_outputs)

INITS = ('fan_in', 'fan_out', 'xavier', 'std0.01')
ACTS = ('ReLU', 'PReLU')
#: short name -> (built-in PReLUNet arch, label)
MODELS_ = {
    'B': ('B', '22-layer (model B, 19 conv)'),
    '30': ('30', '30-layer (Fig. 3, 27 conv)')
}


def build_trunk(model: str, act: str, width_div: int) -> nn.Module:
    """The conv trunk of ``model`` with every width divided by
    ``width_div``, not initialized."""
    from mmprelu.models.backbones import PReLUNet
    if model not in MODELS_:
        raise ValueError(f'unknown model {model!r}; valid: {list(MODELS_)}')
    if act not in ACTS:
        raise ValueError(f'unknown activation {act!r}; valid: {ACTS}')
    arch = PReLUNet.parse_arch(MODELS_[model][0])
    arch['channels'] = tuple(max(1, c // width_div) for c in arch['channels'])
    net = PReLUNet(arch=arch, act_cfg=dict(type=act), init_cfg=None)
    for m in net.modules():  # retain_grad needs the un-modified inputs
        if isinstance(m, nn.ReLU):
            m.inplace = False
    return net


@torch.no_grad()
def initialize(net: nn.Module, init: str, slope: float) -> None:
    from mmprelu.models.utils.init import msra_fan, msra_std
    if init not in INITS:
        raise ValueError(f'unknown init {init!r}; valid: {INITS}')
    for m in net.modules():
        if not isinstance(m, nn.Conv2d):
            continue
        if init in ('fan_in', 'fan_out'):
            std = msra_std(m.weight, init, slope)  # Eq. (10)/(14)/(15)
        elif init == 'xavier':
            std = math.sqrt(1 / msra_fan(m.weight, 'fan_in'))
        else:
            std = 0.01
        m.weight.normal_(0, std)
        m.bias.zero_()


def measure(net: nn.Module, batch: int, size: int):
    """Per conv layer: std of its response (forward) and of the gradient of
    its input (backward)."""
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    stage_of = [
        i for i, stage in enumerate(net.stages) for m in stage.modules()
        if isinstance(m, nn.Conv2d)
    ]
    inputs, outputs = [], []

    def pre_hook(module, args):
        args[0].retain_grad()
        inputs.append(args[0])

    def hook(module, args, output):
        outputs.append(output)

    handles = [c.register_forward_pre_hook(pre_hook) for c in convs]
    handles += [c.register_forward_hook(hook) for c in convs]
    x = torch.randn(batch, 3, size, size, requires_grad=True)
    try:
        net(x)
        outputs[-1].backward(torch.randn_like(outputs[-1]))
    finally:
        for h in handles:
            h.remove()
    forward = [float(o.detach().std()) for o in outputs]
    backward = [float(i.grad.std()) for i in inputs]
    return forward, backward, stage_of


def layer_factor(stds, stage_of):
    """Geometric-mean std change per layer inside the last stage (no pools
    there, so this is the per-layer factor of Eq. 9 / 13 alone)."""
    idx = [i for i, s in enumerate(stage_of) if s == stage_of[-1]]
    if len(idx) < 2:
        return float('nan')
    first, last = stds[idx[0]], stds[idx[-1]]
    return (last / first)**(1 / (len(idx) - 1))


def run(
        models=('B', '30'),
        acts=ACTS,
        inits=INITS,
        width_div=8,
        size=224,
        batch=4,
        seed=0,
        out_dir='work_dirs/signal_propagation',
        stem='signal_propagation'):
    results = []
    combos = [(m, a, i) for m in models for a in acts for i in inits]
    for model, act, init in progress(combos, desc='nets'):
        torch.manual_seed(seed)
        net = build_trunk(model, act, width_div)
        initialize(net, init, 0.25 if act == 'PReLU' else 0.0)
        forward, backward, stage_of = measure(net, batch, size)
        results.append(
            dict(
                model=model,
                act=act,
                init=init,
                forward=forward,
                backward=backward,
                stage=stage_of,
                forward_factor=layer_factor(forward, stage_of),
                # gradients flow backwards: the factor per layer towards input
                backward_factor=1 / layer_factor(backward, stage_of),
                forward_ratio=forward[-1] / forward[0],
                # gradient flows from the last layer back to the first
                backward_ratio=backward[0] / backward[-1]))
    rows = [(r['model'], r['act'], r['init'], len(r['forward']),
             f"{r['forward_ratio']:.3g}", f"{r['backward_ratio']:.3g}",
             f"{r['forward_factor']:.3f}", f"{r['backward_factor']:.3f}")
            for r in results]
    md = markdown_table(
        ('model', 'act', 'init', 'conv layers', 'forward std last/first',
         'backward std first/last', 'forward factor/layer (last stage)',
         'backward factor/layer (last stage)'), rows)
    write_outputs(
        out_dir, stem, md,
        dict(
            width_div=width_div,
            size=size,
            batch=batch,
            seed=seed,
            results=results))
    png = plot(results, models, acts, out_dir, stem)
    return results, md, png


def plot(results, models, acts, out_dir, stem):
    plt = pyplot()
    fig, axes = plt.subplots(
        2,
        len(models) * len(acts),
        squeeze=False,
        figsize=(3.2 * len(models) * len(acts), 5.5),
        sharey='row')
    colors = dict(zip(INITS, ('C0', 'C1', 'C3', 'C7')))
    for col, (model, act) in enumerate((m, a) for m in models for a in acts):
        for row, key in enumerate(('forward', 'backward')):
            ax = axes[row][col]
            for r in results:
                if r['model'] == model and r['act'] == act:
                    ys = r[key]
                    ax.semilogy(
                        range(1,
                              len(ys) + 1),
                        ys,
                        '.-',
                        ms=3,
                        color=colors.get(r['init']),
                        label=r['init'])
            ax.set_title(f'{MODELS_[model][1]}\n{act}, {key}', fontsize=8)
            ax.set_xlabel('conv layer')
            ax.grid(alpha=0.3, which='both')
    axes[0][0].set_ylabel('std of response y_l')
    axes[1][0].set_ylabel('std of input gradient dx_l')
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, out_dir, stem)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--models', nargs='+', default=['B', '30'], choices=list(MODELS_))
    parser.add_argument('--acts', nargs='+', default=list(ACTS), choices=ACTS)
    parser.add_argument(
        '--inits', nargs='+', default=list(INITS), choices=INITS)
    parser.add_argument('--width-div', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--out-dir', default='work_dirs/signal_propagation')
    args = parser.parse_args(argv)
    for key in ('width_div', 'size', 'batch'):
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be positive')
    set_threads(args.threads)
    results, md, png = run(args.models, args.acts, args.inits, args.width_div,
                           args.size, args.batch, args.seed, args.out_dir)
    print(md)
    print(f'written: {png} and signal_propagation.md/.json')
    return results


if __name__ == '__main__':
    main()
