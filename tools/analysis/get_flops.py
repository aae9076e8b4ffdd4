"""Multiply-adds and parameters of an mmprelu model, per layer and in total.

    python tools/analysis/get_flops.py CONFIG [CONFIG ...] [--shape 224]
        [--out-dir docs/figures] [--cfg-options KEY=VALUE ...]

The model is built from the config on PyTorch's ``meta`` device (no memory,
no weights: even model C costs nothing) and one ``mode='tensor'`` forward of
a ``1 x 3 x H x W`` input is traced with
:class:`torch.utils.flop_counter.FlopCounterMode` (through
:func:`mmprelu.compat.flop_counter_mode`). That counter counts the
matrix products (convolutions, fc layers); activations, pooling and SPP are
not counted, as in the paper's "ops" of Table 3. Multiply-adds are
FLOPs / 2.

For built-in archs A/B/C at 224x224 the summary sits beside the paper's
Table 3 complexity (1.90/2.32/5.30 x 10^10) with our/paper ratio.

Outputs under ``--out-dir``: ``flops_<config>.md`` / ``.json`` per config
(per-layer table), ``flops_summary.md`` / ``.json`` and
``flops_<config>.png`` (multiply-adds per layer).
"""
import argparse
from pathlib import Path

import torch
import torch.nn as nn
from mmengine.config import DictAction

from analysis_utils import (load_config, markdown_table, progress, pyplot,
                            save_figure, write_outputs)

#: Table 3 of the paper, "complexity (ops., x10^10)" at 224x224.
PAPER_TABLE3 = {'A': 1.90, 'B': 2.32, 'C': 5.30}


def build_meta_model(cfg) -> nn.Module:
    from mmprelu.registry import MODELS
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    return model.eval()


def count(model: nn.Module, shape) -> dict:
    """Trace one forward of a ``(1, 3, *shape)`` meta input; return totals
    and one row per leaf module that has parameters or multiply-adds."""
    from mmprelu.compat import flop_counter_mode
    out_shapes = {}
    hooks = []
    leaves = [(n, m) for n, m in model.named_modules()
              if n and not list(m.children())]
    for name, module in leaves:

        def hook(mod, args, output, name=name):
            if isinstance(output, torch.Tensor):
                out_shapes[name] = list(output.shape[1:])

        hooks.append(module.register_forward_hook(hook))
    counter = flop_counter_mode(model, display=False, depth=None)
    x = torch.empty(1, 3, *shape, device='meta')
    try:
        with torch.no_grad(), counter:
            model(x, mode='tensor')
    finally:
        for h in hooks:
            h.remove()
    per_module = counter.get_flop_counts()
    root = type(model).__name__
    rows = []
    for name, module in leaves:
        flops = sum(per_module.get(f'{root}.{name}', {}).values())
        params = sum(p.numel() for p in module.parameters(recurse=False))
        if flops == 0 and params == 0:
            continue
        rows.append(
            dict(
                layer=name,
                type=type(module).__name__,
                output=out_shapes.get(name),
                params=params,
                macs=flops // 2))
    total_macs = counter.get_total_flops() // 2
    total_params = sum(p.numel() for p in model.parameters())
    return dict(
        shape=list(shape),
        total_macs=total_macs,
        total_params=total_params,
        layers=rows)


def paper_arch(cfg):
    arch = cfg.model.get('backbone', {}).get('arch')
    return arch.upper() if isinstance(arch, str) else None


def layer_table(result) -> str:
    rows = [(r['layer'], r['type'], 'x'.join(map(str, r['output'] or [])),
             f"{r['params']:,}", f"{r['macs']:,}") for r in result['layers']]
    rows.append(('**total**', '', '', f"{result['total_params']:,}",
                 f"{result['total_macs']:,}"))
    return markdown_table(
        ('layer', 'type', 'output (CxHxW)', 'params', 'multiply-adds'), rows)


def plot_layers(result, name, out_dir):
    plt = pyplot()
    rows = [r for r in result['layers'] if r['macs'] > 0]
    fig, ax = plt.subplots(figsize=(max(6, 0.3 * len(rows)), 3.5))
    ax.bar(range(len(rows)), [r['macs'] / 1e9 for r in rows])
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(
        [r['layer'].replace('backbone.stages.', 's') for r in rows],
        rotation=90,
        fontsize=7)
    ax.set_ylabel('multiply-adds (x1e9)')
    h, w = result['shape']
    ax.set_title(f'{name} at {h}x{w}: '
                 f"{result['total_macs'] / 1e10:.3f} x1e10 multiply-adds")
    return save_figure(fig, out_dir, f'flops_{name}')


def summary_row(name, cfg, result):
    macs = result['total_macs'] / 1e10
    arch = paper_arch(cfg)
    paper = (PAPER_TABLE3.get(arch) if result['shape'] == [224, 224] else None)
    return dict(
        config=name,
        arch=arch,
        shape=result['shape'],
        macs_1e10=round(macs, 4),
        params_1e6=round(result['total_params'] / 1e6, 3),
        paper_1e10=paper,
        ratio=round(macs / paper, 4) if paper else None)


def run(configs,
        shape=(224, 224),
        out_dir='work_dirs/flops',
        cfg_options=None,
        plot=True):
    """Count every config; write the outputs; return the summary rows."""
    summary, results = [], {}
    for path in progress(configs, desc='configs'):
        cfg = load_config(path, cfg_options)
        name = Path(path).stem
        result = count(build_meta_model(cfg), shape)
        results[name] = result
        write_outputs(out_dir, f'flops_{name}', layer_table(result), result)
        if plot:
            plot_layers(result, name, out_dir)
        summary.append(summary_row(name, cfg, result))
    rows = [(s['config'], s['arch'] or '-', 'x'.join(map(str, s['shape'])),
             f"{s['params_1e6']:.2f}", f"{s['macs_1e10']:.3f}",
             s['paper_1e10'] if s['paper_1e10'] else '-',
             f"{s['ratio']:.3f}" if s['ratio'] else '-') for s in summary]
    md = markdown_table(
        ('config', 'arch', 'input', 'params (M)', 'multiply-adds (x1e10)',
         'paper Table 3 (x1e10)', 'ours / paper'), rows)
    write_outputs(out_dir, 'flops_summary', md, dict(rows=summary))
    return summary, results, md


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='config file(s)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[224],
        help='input size: H (square) or H W (default 224)')
    parser.add_argument(
        '--out-dir',
        default='work_dirs/flops',
        help='folder for the tables and plots')
    parser.add_argument('--no-plot', action='store_true')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, as in tools/train.py')
    args = parser.parse_args(argv)
    missing = [c for c in args.configs if not Path(c).is_file()]
    if missing:
        parser.error(f'config file(s) not found: {missing}')
    if len(args.shape) not in (1, 2) or min(args.shape) < 1:
        parser.error(f'--shape takes H or H W (positive), got {args.shape}')
    return args


def main(argv=None):
    args = parse_args(argv)
    shape = tuple(args.shape) * (2 // len(args.shape))
    _, results, md = run(
        args.configs,
        shape,
        args.out_dir,
        args.cfg_options,
        plot=not args.no_plot)
    if len(results) == 1:
        print(layer_table(next(iter(results.values()))))
    print(md)
    print(f'tables and plots written to {args.out_dir}')


if __name__ == '__main__':
    main()
