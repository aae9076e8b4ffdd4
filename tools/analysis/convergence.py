"""Convergence of a very deep plain net with MSRA vs Xavier init (Figs. 2
and 3 of He et al. 2015), at small scale.

    python tools/analysis/convergence.py \
        configs/experiments/plain30_relu_msra_digits.py \
        configs/experiments/plain30_relu_xavier_digits.py \
        [--labels MSRA Xavier] [--epochs 30] [--seed 0] [--threads 1]
        [--work-dir work_dirs/convergence] [--out-dir DIR]
        [--cfg-options KEY=VALUE ...]

Each config is trained in-process with mmengine's Runner for the same
budget and seed (``tools/analysis/experiment.py``); the training loss, the
total gradient norm and the gradient norm of the first conv layer are
recorded every iteration and plotted against epochs (log scale for the
gradients), with the final validation top-1 in the legend. The paper's
Fig. 3: MSRA converges, Xavier "completely stalls" with diminishing
gradients.

Outputs under ``--out-dir``: ``NAME.{md,json,png}`` (``--name``, default
``convergence``).
"""
import argparse

from analysis_utils import (markdown_table, progress, pyplot, save_figure,
                            write_outputs)
from experiment import (add_experiment_args, check_experiment_args,
                        data_kwargs, last_epoch_loss, print_report, train)


def smooth(values, window):
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > window:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def compact(runs):
    """The runs with every logged value rounded to 4 significant digits
    (the JSON of a 30-epoch run stays small enough to commit)."""
    return {
        label:
        dict(
            run,
            log={
                k: [float(f'{v:.4g}') for v in vs]
                for k, vs in run['log'].items()
            })
        for label, run in runs.items()
    }


def plot(runs, out_dir, stem, window=10):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    panels = (('loss', 'training loss',
               False), ('grad_norm', 'gradient norm (all weights)', True),
              ('grad_first_conv', 'gradient norm, conv1 weight', True))
    for ax, (key, title, log) in zip(axes, panels):
        for label, run in runs.items():
            top1 = run['val'].get('accuracy/top1', float('nan'))
            ys = smooth(run['log'][key], window)
            (ax.semilogy if log else ax.plot)(
                run['log']['epoch'],
                ys,
                lw=1,
                label=f'{label} (val top-1 {top1:.1f}%)')
        ax.set_title(title, fontsize=9)
        ax.set_xlabel('epoch')
        ax.grid(alpha=0.3, which='both')
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, out_dir, stem)


def run(configs,
        labels,
        epochs,
        seed,
        work_dir,
        out_dir,
        name='convergence',
        cfg_options=None,
        **train_kwargs):
    runs = {}
    for config, label in progress(list(zip(configs, labels)), desc='runs'):
        runs[label] = train(config, work_dir, seed, epochs, cfg_options,
                            **train_kwargs)
    rows = []
    for label, r in runs.items():
        log = r['log']
        rows.append(
            (label, len(log['loss']), f"{log['loss'][0]:.4f}",
             f'{last_epoch_loss(log):.4f}',
             f"{r['val'].get('accuracy/top1', float('nan')):.2f}",
             f"{log['grad_first_conv'][0]:.3g}",
             f"{log['grad_first_conv'][-1]:.3g}", f"{r['seconds']:.0f}"))
    md = markdown_table(('run', 'iterations', 'first loss', 'last-epoch loss',
                         'val top-1 (%)', 'conv1 grad norm (first iter)',
                         'conv1 grad norm (last iter)', 'seconds'), rows)
    write_outputs(
        out_dir,
        name,
        md,
        dict(
            configs=[str(c) for c in configs],
            epochs=epochs,
            seed=seed,
            runs=compact(runs)),
        indent=None)
    png = plot(runs, out_dir, name)
    return runs, md, png


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_experiment_args(parser, 'convergence')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    labels = check_experiment_args(parser, args)
    runs, md, png = run(args.configs, labels, args.epochs, args.seed,
                        args.work_dir, args.out_dir, args.name,
                        args.cfg_options, **data_kwargs(args))
    print_report(md, png, args.name)
    return runs


if __name__ == '__main__':
    main()
