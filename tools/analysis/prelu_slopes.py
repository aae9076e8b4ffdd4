"""Table 1-style table of the learned PReLU slopes of checkpoint(s).

    python tools/analysis/prelu_slopes.py CKPT [CKPT ...] [--labels L ...]
        [--out-dir DIR] [--name prelu_slopes]

Each checkpoint is read weights-only with
:func:`mmprelu.engine.checkpoint.load_checkpoint_safely`; the PReLU slopes
are the state-dict entries ``<layer>.act.weight``: conv layers and the
head's ``head.layers.<i>.act.weight`` (fc1, fc2). For every layer the table
gives the channel-shared value or, for channel-wise PReLU, the mean over
channels (as Table 1 does), and the plot shows one bar group per layer,
one bar per checkpoint. When a checkpoint has the 13 PReLU layers of the
14-layer model the paper's Table 1 values are listed beside it.

Outputs under ``--out-dir``: ``NAME.md``, ``NAME.json`` and ``NAME.png``.
With ``--history WORK_DIR/.../vis_data/scalars.json`` (a run with
:class:`~mmprelu.engine.hooks.PReLUSlopeHook`) also ``NAME_history.png``:
every layer's mean slope against the training iteration.
"""
import argparse
import json
import re
from collections import OrderedDict
from pathlib import Path

from analysis_utils import markdown_table, pyplot, save_figure, write_outputs

#: Table 1 layer names of the 14-layer model and the paper's learned slopes
#: (channel-shared, channel-wise mean).
PAPER_TABLE1 = OrderedDict([('conv1', (0.681, 0.596)),
                            ('conv21', (0.103, 0.321)),
                            ('conv22', (0.099, 0.204)),
                            ('conv23', (0.228, 0.294)),
                            ('conv24', (0.561, 0.464)),
                            ('conv31', (0.126, 0.196)),
                            ('conv32', (0.089, 0.152)),
                            ('conv33', (0.124, 0.145)),
                            ('conv34', (0.062, 0.124)),
                            ('conv35', (0.008, 0.134)),
                            ('conv36', (0.210, 0.198)),
                            ('fc1', (0.063, 0.074)), ('fc2', (0.031, 0.075))])

_SLOPE_KEY = re.compile(r'^(?:module\.)?(?P<layer>.*\bact\d*)\.weight$')


def read_slopes(path) -> 'OrderedDict[str, dict]':
    """``{layer: dict(mean, min, max, channels)}`` of a checkpoint's
    PReLU slopes, in state-dict (model) order."""
    from mmprelu.engine.checkpoint import load_checkpoint_safely
    if not Path(path).is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
    ckpt = load_checkpoint_safely(str(path), map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path}: not a checkpoint / state dict')
    slopes = OrderedDict()
    for key, value in state.items():
        match = _SLOPE_KEY.match(key)
        if match is None or not hasattr(value, 'dim') or value.dim() != 1:
            continue
        value = value.float()
        slopes[match['layer']] = dict(
            mean=float(value.mean()),
            min=float(value.min()),
            max=float(value.max()),
            channels=int(value.numel()))
    if not slopes:
        raise ValueError(
            f'{path}: no PReLU slopes found (no "*.act.weight" keys); is '
            f'this a ReLU model?')
    return slopes


def paper_names(layers):
    """Table 1 names for the 13 PReLU layers of the 14-layer model, else
    the module names."""
    if len(layers) == len(PAPER_TABLE1):
        return list(PAPER_TABLE1)
    return list(layers)


def build_table(all_slopes, labels):
    layers = list(all_slopes[0])
    for label, slopes in zip(labels, all_slopes):
        if list(slopes) != layers:
            raise ValueError(f'checkpoint {label!r} has other PReLU layers '
                             f'than {labels[0]!r}; compare like models')
    names = paper_names(layers)
    paper = len(layers) == len(PAPER_TABLE1)
    kinds = [
        'shared' if s[layers[0]]['channels'] == 1 else 'ch. mean'
        for s in all_slopes
    ]
    header = ['layer', 'module'
              ] + [f'{label} ({kind})' for label, kind in zip(labels, kinds)]
    if paper:
        header += ['paper shared', 'paper channel-wise']
    rows = []
    for name, layer in zip(names, layers):
        row = [name, layer] + [round(s[layer]['mean'], 3) for s in all_slopes]
        if paper:
            row += list(PAPER_TABLE1[name])
        rows.append(row)
    return header, rows, names


def plot(all_slopes, labels, names, out_dir, stem):
    plt = pyplot()
    layers = list(all_slopes[0])
    paper = len(layers) == len(PAPER_TABLE1)
    series = [(label, [s[k]['mean'] for k in layers])
              for label, s in zip(labels, all_slopes)]
    if paper:
        series += [('paper shared', [v[0] for v in PAPER_TABLE1.values()]),
                   ('paper channel-wise',
                    [v[1] for v in PAPER_TABLE1.values()])]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(layers)), 3.5))
    for i, (label, values) in enumerate(series):
        ax.bar([j + i * width for j in range(len(layers))],
               values,
               width,
               label=label,
               hatch='//' if label.startswith('paper') else '')
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(layers))])
    ax.set_xticklabels(names, rotation=60, fontsize=7)
    ax.axhline(0.25, color='gray', lw=0.8, ls='--', label='init 0.25')
    ax.set_ylabel('learned slope a (mean over channels)')
    ax.legend(fontsize=7)
    return save_figure(fig, out_dir, stem)


def read_history(path):
    """``{layer: ([steps], [values])}`` of the ``prelu/<layer>`` scalars
    that PReLUSlopeHook sent to mmengine's LocalVisBackend."""
    if not Path(path).is_file():
        raise FileNotFoundError(f'scalars file not found: {path}')
    history = OrderedDict()
    for line in Path(path).read_text().splitlines():
        record = json.loads(line)
        for key, value in record.items():
            if key.startswith('prelu/'):
                steps, values = history.setdefault(key[6:], ([], []))
                steps.append(record.get('step', len(steps)))
                values.append(value)
    if not history:
        raise ValueError(f'{path}: no "prelu/<layer>" scalars; was the run '
                         f'trained with PReLUSlopeHook?')
    return history


def plot_history(history, out_dir, stem):
    plt = pyplot()
    names = paper_names(list(history))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.set_prop_cycle(color=plt.cm.tab20.colors)
    for name, (steps, values) in zip(names, history.values()):
        ax.plot(steps, values, lw=1, label=name)
    ax.set_xlabel('iteration')
    ax.set_ylabel('mean slope a')
    ax.legend(fontsize=6, ncol=2)
    ax.grid(alpha=0.3)
    return save_figure(fig, out_dir, f'{stem}_history')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoints', nargs='+', help='checkpoint file(s)')
    parser.add_argument(
        '--labels',
        nargs='+',
        help='one label per checkpoint (default: file names)')
    parser.add_argument('--out-dir', default='work_dirs/prelu_slopes')
    parser.add_argument(
        '--name', default='prelu_slopes', help='stem of the output files')
    parser.add_argument(
        '--history',
        help='vis_data/scalars.json of a run '
        'with PReLUSlopeHook: also plot slopes over time')
    args = parser.parse_args(argv)
    labels = args.labels or [Path(c).stem for c in args.checkpoints]
    if len(labels) != len(args.checkpoints):
        parser.error(f'--labels needs one label per checkpoint: got '
                     f'{len(labels)} for {len(args.checkpoints)}')
    try:
        all_slopes = [read_slopes(c) for c in args.checkpoints]
        header, rows, names = build_table(all_slopes, labels)
        history = read_history(args.history) if args.history else None
    except (FileNotFoundError, ValueError) as err:
        parser.exit(2, f'error: {err}\n')
    md = markdown_table(header, rows)
    write_outputs(args.out_dir, args.name, md,
                  dict(labels=labels, layers=names, slopes=all_slopes))
    png = plot(all_slopes, labels, names, args.out_dir, args.name)
    if history:
        print(f'written: {plot_history(history, args.out_dir, args.name)}')
    print(md)
    print(f'written: {png} and {args.name}.md/.json')
    return all_slopes


if __name__ == '__main__':
    main()
