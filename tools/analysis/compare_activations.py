"""ReLU vs PReLU (channel-shared, channel-wise) on the 14-layer model, as
Table 2 of He et al. 2015, at small scale and over several seeds.

    python tools/analysis/compare_activations.py \
        configs/experiments/prelu14_relu_digits.py \
        configs/experiments/prelu14_shared_digits.py \
        configs/experiments/prelu14_wise_digits.py \
        [--labels ReLU shared wise] [--seeds 0 1 2] [--epochs 20]
        [--threads 1] [--work-dir DIR] [--out-dir DIR]

Every config is trained with the same budget and each seed (same data
order and initial weights up to the activation), in-process with mmengine's
Runner (``tools/analysis/experiment.py``). The table gives, per config, the
mean +- std over seeds of the last-epoch training loss and the final
validation top-1 / top-5 (the paper reports ImageNet 10-view top-1/top-5
errors: 33.82 / 32.71 / 32.64 % top-1 for ReLU / shared / wise). The plot
shows the training-loss curves (mean over seeds) and the final accuracies
with their spread. The last checkpoint of every run stays in ``--work-dir``
for ``prelu_slopes.py``.

Outputs under ``--out-dir``: ``NAME.{md,json,png}`` (``--name``, default
``compare_activations``).
"""
import argparse
import statistics

from analysis_utils import (markdown_table, progress, pyplot, save_figure,
                            write_outputs)
from experiment import (add_experiment_args, check_experiment_args,
                        data_kwargs, last_epoch_loss, print_report, train)

#: Table 2 of the paper: ImageNet val 10-view top-1 / top-5 error (%).
PAPER_TABLE2 = {
    'ReLU': (33.82, 13.34),
    'PReLU channel-shared': (32.71, 12.87),
    'PReLU channel-wise': (32.64, 12.75)
}


def mean_std(values):
    values = [v for v in values if v == v]  # drop NaN
    if not values:
        return float('nan'), float('nan')
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), std


def summarize(results):
    """``{label: dict(loss=(m, s), top1=(m, s), top5=(m, s))}``."""
    summary = {}
    for label, runs in results.items():
        summary[label] = dict(
            loss=mean_std([last_epoch_loss(r['log']) for r in runs]),
            top1=mean_std(
                [r['val'].get('accuracy/top1', float('nan')) for r in runs]),
            top5=mean_std(
                [r['val'].get('accuracy/top5', float('nan')) for r in runs]),
            seeds=len(runs))
    return summary


def plot(results, summary, out_dir, stem):
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    for label, runs in results.items():
        n = min(len(r['log']['loss']) for r in runs)
        mean = [
            statistics.fmean(r['log']['loss'][i] for r in runs)
            for i in range(n)
        ]
        window = 20
        smooth = [
            statistics.fmean(mean[max(0, i - window + 1):i + 1])
            for i in range(n)
        ]
        ax1.plot(runs[0]['log']['epoch'][:n], smooth, lw=1, label=label)
    ax1.set_xlabel('epoch')
    ax1.set_ylabel('training loss (mean over seeds)')
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=7)
    labels = list(summary)
    ax2.bar(
        range(len(labels)), [summary[k]['top1'][0] for k in labels],
        yerr=[summary[k]['top1'][1] for k in labels],
        capsize=4)
    for i, label in enumerate(labels):
        ys = [r['val'].get('accuracy/top1') for r in results[label]]
        ax2.plot([i] * len(ys), ys, 'k.', ms=4)
    ax2.set_xticks(range(len(labels)))
    ax2.set_xticklabels(labels, fontsize=8)
    ax2.set_ylabel('val top-1 (%), mean +- std, dots = seeds')
    fig.tight_layout()
    return save_figure(fig, out_dir, stem)


def run(configs,
        labels,
        seeds,
        epochs,
        work_dir,
        out_dir,
        name='compare_activations',
        cfg_options=None,
        **train_kwargs):
    results = {label: [] for label in labels}
    jobs = [(c, lab, s) for s in seeds for c, lab in zip(configs, labels)]
    for config, label, seed in progress(jobs, desc='runs'):
        results[label].append(
            train(config, work_dir, seed, epochs, cfg_options, **train_kwargs))
    summary = summarize(results)
    rows = [(label, s['seeds'], f"{s['loss'][0]:.4f} ± {s['loss'][1]:.4f}",
             f"{s['top1'][0]:.2f} ± {s['top1'][1]:.2f}",
             f"{s['top5'][0]:.2f} ± {s['top5'][1]:.2f}")
            for label, s in summary.items()]
    md = markdown_table(('activation', 'seeds', 'last-epoch train loss',
                         'val top-1 (%)', 'val top-5 (%)'), rows)
    write_outputs(
        out_dir, name, md,
        dict(
            configs=[str(c) for c in configs],
            seeds=list(seeds),
            epochs=epochs,
            summary=summary,
            paper_table2_err=PAPER_TABLE2,
            runs={
                k: [
                    dict(
                        val=r['val'],
                        loss=last_epoch_loss(r['log']),
                        checkpoint=r['checkpoint'],
                        seconds=r['seconds']) for r in v
                ]
                for k, v in results.items()
            }))
    png = plot(results, summary, out_dir, name)
    return results, summary, md, png


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_experiment_args(parser, 'compare_activations')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    args = parser.parse_args(argv)
    labels = check_experiment_args(parser, args)
    _, _, md, png = run(args.configs, labels, args.seeds, args.epochs,
                        args.work_dir, args.out_dir, args.name,
                        args.cfg_options, **data_kwargs(args))
    print_report(md, png, args.name)


if __name__ == '__main__':
    main()
