"""Train one experiment config in-process with mmengine's Runner and record
what the analysis tools plot (shared by ``convergence.py`` and
``compare_activations.py``).

Recorded every iteration: the training loss, the total gradient norm
(mmengine's ``grad_norm``, logged because the experiment configs set a
never-clipping ``clip_grad``; NaN for a config without one) and the
gradient norm of the first and the last conv layer's weight (taken when
backward computes them, before weight decay, which SGD adds later -- see
the paper's footnote 2). After training: the last validation metrics.
"""
import math
import time
from pathlib import Path

import torch
import torch.nn as nn
from mmengine.config import DictAction
from mmengine.hooks import Hook

from analysis_utils import load_config, set_threads


class _Recorder(Hook):
    """Collects per-iteration values into ``self.log``."""

    priority = 'LOWEST'

    def __init__(self):
        self.log = dict(
            iter=[],
            epoch=[],
            loss=[],
            grad_norm=[],
            grad_first_conv=[],
            grad_last_conv=[])
        self._grads = {}
        self._handles = []

    def before_train(self, runner):
        model = runner.model.module if hasattr(runner.model,
                                               'module') else runner.model
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        if not convs:
            raise ValueError('experiment: the model has no conv layer')
        for key, conv in (('grad_first_conv', convs[0]), ('grad_last_conv',
                                                          convs[-1])):

            def hook(grad, key=key):
                self._grads[key] = float(grad.detach().norm())

            self._handles.append(conv.weight.register_hook(hook))
        self._params = [p for p in model.parameters() if p.requires_grad]

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        hub = runner.message_hub
        if outputs and 'loss' in outputs:
            loss = float(torch.as_tensor(outputs['loss']).detach())
        else:
            loss = float(hub.get_scalar('train/loss').current())
        norm = hub.log_scalars.get('train/grad_norm')
        self.log['iter'].append(runner.iter + 1)
        self.log['epoch'].append(runner.epoch + (batch_idx + 1) /
                                 max(1, len(runner.train_dataloader)))
        self.log['loss'].append(loss)
        self.log['grad_norm'].append(
            float(norm.current()) if norm is not None else math.nan)
        for key in ('grad_first_conv', 'grad_last_conv'):
            self.log[key].append(self._grads.get(key, math.nan))

    def after_train(self, runner):
        for handle in self._handles:
            handle.remove()


def train(config,
          work_dir,
          seed=0,
          epochs=None,
          cfg_options=None,
          train_indices=None,
          val_indices=None,
          data_root=None):
    """Train ``config`` once; return ``dict(log=..., val=..., work_dir=,
    seconds=)``. ``train_indices`` / ``val_indices`` (ints) shrink the
    data for tests; ``data_root`` points at another converted digits
    folder."""
    from mmengine.runner import Runner
    cfg = load_config(config, cfg_options)
    stem = Path(config).stem
    cfg.work_dir = str(Path(work_dir) / f'{stem}_seed{seed}')
    cfg.experiment_name = f'{stem}_seed{seed}_{time.time_ns()}'
    cfg.randomness = dict(seed=seed, deterministic=False)
    if epochs is not None:
        cfg.train_cfg.max_epochs = int(epochs)
    for name, indices in (('train', train_indices), ('val', val_indices),
                          ('test', val_indices)):
        loader = cfg[f'{name}_dataloader']
        loader.num_workers = 0
        loader.persistent_workers = False
        if indices is not None:
            loader.dataset.indices = int(indices)
        if data_root is not None:
            loader.dataset.data_root = str(data_root)
    # keep only the last checkpoint of each run
    cfg.default_hooks.checkpoint.update(
        interval=cfg.train_cfg.max_epochs, max_keep_ckpts=1)
    runner = Runner.from_cfg(cfg)
    recorder = _Recorder()
    runner.register_hook(recorder)
    start = time.time()
    runner.train()
    hub = runner.message_hub
    val = {
        k[len('val/'):]: float(v.current())
        for k, v in hub.log_scalars.items() if k.startswith('val/')
    }
    return dict(
        log=recorder.log,
        val=val,
        work_dir=cfg.work_dir,
        seconds=time.time() - start,
        checkpoint=str(
            Path(cfg.work_dir) / f'epoch_{cfg.train_cfg.max_epochs}.pth'))


def last_epoch_loss(log):
    """Mean training loss over the iterations of the last epoch."""
    last = math.ceil(log['epoch'][-1]) - 1
    values = [v for e, v in zip(log['epoch'], log['loss']) if e > last]
    return sum(values) / len(values)


def add_experiment_args(parser, name: str) -> None:
    """Command-line arguments shared by the training experiments
    (convergence.py, compare_activations.py)."""
    parser.add_argument('configs', nargs='+', help='experiment configs')
    parser.add_argument(
        '--labels',
        nargs='+',
        help='one label per config (default: file names)')
    parser.add_argument(
        '--epochs',
        type=int,
        default=None,
        help='training epochs (default: the config)')
    parser.add_argument(
        '--threads', type=int, default=1, help='torch CPU threads (default 1)')
    parser.add_argument(
        '--data-root',
        help='converted digits folder '
        '(default: the config, data/digits)')
    parser.add_argument(
        '--train-indices',
        type=int,
        help='use only the first N training images')
    parser.add_argument(
        '--val-indices',
        type=int,
        help='use only the first N validation images')
    parser.add_argument('--work-dir', default=f'work_dirs/{name}')
    parser.add_argument('--out-dir', default=f'work_dirs/{name}')
    parser.add_argument('--name', default=name)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)


def check_experiment_args(parser, args) -> list:
    """Validate the shared arguments (errors through ``parser``), limit
    torch's threads and return one label per config."""
    labels = args.labels or [Path(c).stem for c in args.configs]
    if len(labels) != len(args.configs):
        parser.error(f'--labels needs one label per config: got '
                     f'{len(labels)} for {len(args.configs)}')
    if len(set(labels)) != len(labels):
        parser.error(f'--labels must be distinct, got {labels}')
    missing = [c for c in args.configs if not Path(c).is_file()]
    if missing:
        parser.error(f'config file(s) not found: {missing}')
    if args.epochs is not None and args.epochs < 1:
        parser.error(f'--epochs must be positive, got {args.epochs}')
    set_threads(args.threads)
    return labels


def data_kwargs(args) -> dict:
    """The keyword arguments of :func:`train` given by the shared
    arguments (data root, training and validation subsets)."""
    return dict(
        data_root=args.data_root,
        train_indices=args.train_indices,
        val_indices=args.val_indices)


def print_report(markdown: str, png, name: str) -> None:
    """The experiment's table and where its outputs went."""
    print(markdown)
    print(f'written: {png} and {name}.md/.json')
