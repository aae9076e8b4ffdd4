"""Classify the test images of a config with a checkpoint
(``mmpretrain.ImageClassificationInferencer``) and save a PNG grid: each
image with its predicted class, score and true label, mistakes in red.

    python demo/prediction_grid.py CONFIG CHECKPOINT [--out FILE.png]
        [--num 16] [--pool 1000] [--cols 8] [--device cpu]

The images come from the config's ``test_dataloader.dataset`` (its
annotation file; no loader is built). At most ``--pool`` images, evenly
spaced over the set, are classified; the grid shows the
mistakes among them first (up to half the grid, more when too few images
are right), then correctly classified images evenly spaced over the pool,
so the picture is honest about the errors. The title gives the pool's
accuracy. Prints where the PNG is. ``tools/demo_digits.sh`` ends with it.
"""
import argparse
import os
import os.path as osp

import numpy as np


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='PNG grid of predictions on a config\'s test images')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        default='work_dirs/predictions.png',
        help='PNG file to write (default: %(default)s)')
    parser.add_argument(
        '--num', type=int, default=16, help='images in the grid (default: 16)')
    parser.add_argument(
        '--pool',
        type=int,
        default=1000,
        help='images classified to choose from (default: '
        '1000)')
    parser.add_argument(
        '--cols', type=int, default=8, help='grid columns (default: 8)')
    parser.add_argument('--device', default=None, help='cpu, cuda, ...')
    return parser


def test_images(cfg, pool: int):
    """[(image path, true label)] of the test dataset, at most ``pool``,
    evenly spaced."""
    from mmengine.registry import DefaultScope

    from mmprelu.registry import DATASETS
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
    count = len(dataset)
    picks = np.linspace(0, count - 1, min(pool, count)).round().astype(int)
    infos = [dataset.get_data_info(int(i)) for i in np.unique(picks)]
    return [(info['img_path'], int(info['gt_label'])) for info in infos]


def choose(correct: np.ndarray, num: int) -> list:
    """Indices to show: the mistakes first (at most half the grid, more
    when too few images are right), then correct ones evenly spaced."""
    right = np.flatnonzero(correct)
    room = max(num // 2, num - len(right))
    wrong = np.flatnonzero(~correct)[:room].tolist()
    take = min(num - len(wrong), len(right))
    if take <= 0:
        return wrong
    return wrong + right[np.linspace(0,
                                     len(right) - 1,
                                     take).round().astype(int)].tolist()


def draw(items, classes, title: str, cols: int, out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from mmcv import imread

    rows = -(-len(items) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(1.1 * cols, 1.35 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    for ax, (path, truth, label, score) in zip(axes.flat, items):
        ax.imshow(imread(path, channel_order='rgb'))
        ok = label == truth
        ax.set_title(
            f'{classes[label]} ({score:.2f})\ntrue {classes[truth]}',
            fontsize=7,
            color='green' if ok else 'red')
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)


def main(argv=None) -> str:
    parser = build_parser()
    args = parser.parse_args(argv)
    for path, what in ((args.config, 'config'), (args.checkpoint,
                                                 'checkpoint')):
        if not osp.isfile(path):
            parser.error(f'{what} file {path!r} does not exist')
    for key in ('num', 'pool', 'cols'):
        if getattr(args, key) < 1:
            parser.error(f'--{key} must be >= 1, got {getattr(args, key)}')
    if not args.out.lower().endswith('.png'):
        parser.error(f'--out {args.out!r}: must be a .png file')

    from mmengine.config import Config
    from mmpretrain import ImageClassificationInferencer

    import mmprelu  # noqa: F401  (registers modules)

    cfg = Config.fromfile(args.config)
    images = test_images(cfg, args.pool)
    inferencer = ImageClassificationInferencer(
        args.config, pretrained=args.checkpoint, device=args.device)
    classes = inferencer.classes or [str(i) for i in range(10**6)]
    results = inferencer([p for p, _ in images], batch_size=32)
    labels = np.array([r['pred_label'] for r in results])
    truths = np.array([t for _, t in images])
    correct = labels == truths
    shown = choose(correct, args.num)
    items = [(images[i][0], truths[i], labels[i], results[i]['pred_score'])
             for i in shown]
    wrong = int((~correct).sum())
    title = (f'{osp.basename(args.config)}: {int(correct.sum())}/'
             f'{len(images)} test images right ({100 * correct.mean():.2f} '
             f'%); {int((~correct[shown]).sum())} of {wrong} mistakes shown '
             f'(red)')
    draw(items, classes, title, min(args.cols, len(items)), args.out)
    print(f'prediction grid ({len(items)} images) saved to {args.out}')
    return args.out


if __name__ == '__main__':
    main()
