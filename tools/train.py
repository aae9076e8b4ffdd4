"""Train a model from a config (the command line of mmpretrain 1.x's
``tools/train.py``).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|CKPT]]
        [--amp] [--no-validate] [--auto-scale-lr] [--no-pin-memory]
        [--no-persistent-workers] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm,mpi}]

Several processes: ``bash tools/dist_train.sh CONFIG NUM_PROCS [args]``
(``MAX_RESTARTS=N`` lets torchrun restart them); without CUDA they train on
CPU over gloo (``mmprelu/apis/launch.py``). A restarted job resumes by
itself from the newest complete checkpoint (``mmprelu/apis/resume.py``).
``--cfg-options`` are merged last, as in mmpretrain: they win over the
other options. CONFIG may inherit ``_base_ = ['mmprelu::<path under
configs/>']`` (docs/downstream.md).
"""
import argparse
import os.path as osp
import traceback

import torch.distributed as torch_dist
from torch.distributed.elastic.multiprocessing.errors import record

import mmprelu  # noqa: F401  (registers modules and the safe loader)
from mmprelu.apis import (close_distributed, exit_process,
                          explain_collective_failure)
from mmprelu.apis.cli import (add_common_args, add_config_args, build_runner,
                              check_common_args, check_config,
                              drop_persistent_workers_without_workers,
                              is_remote, merge_cfg_options, read_config,
                              set_dataloader_defaults, set_work_dir)
from mmprelu.engine.hooks.slope_decay_hook import add_slope_decay_check


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Train a classifier')
    add_config_args(parser, 'where logs and checkpoints go')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        metavar='CKPT',
        help='resume training (weights, optimizer, schedulers, iteration) '
        'from CKPT; with no value (or "auto"), from the newest complete '
        'checkpoint in the work dir (trains from scratch if there is none). '
        'A restarted job (torchrun, Slurm requeue) resumes by itself')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (AmpOptimWrapper with a dynamic '
        'loss scale); needs a CUDA GPU')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='no evaluation during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr linearly by the total batch size over the '
        'config\'s auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='pin_memory=False in every dataloader')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='persistent_workers=False in every dataloader')
    add_common_args(parser)
    return parser


def merge_args(cfg, args, parser: argparse.ArgumentParser):
    """Apply the command line to ``cfg`` (an mmengine ``Config``) in the
    order of mmpretrain's tools/train.py, ``--cfg-options`` last (they win);
    the differences are listed in docs/downstream.md."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)

    if args.amp:
        if cfg.get('optim_wrapper', None) is None:
            parser.error(f'--amp: config {args.config} has no optim_wrapper')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    # resume=True without load_from: the newest complete checkpoint of the
    # work dir (mmprelu/apis/resume.py), chosen when the Runner is built
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        cfg.auto_scale_lr = dict(
            cfg.get('auto_scale_lr', None) or {}, enable=True)

    set_dataloader_defaults(cfg, args.no_pin_memory,
                            args.no_persistent_workers)
    merge_cfg_options(parser, cfg, args.cfg_options)

    scale = cfg.get('auto_scale_lr', None) or {}
    if args.auto_scale_lr and scale.get('base_batch_size', None) is None:
        parser.error(
            f'--auto-scale-lr: config {args.config} has no '
            f'auto_scale_lr.base_batch_size (the total batch size its '
            f'lr is set for); add auto_scale_lr = dict('
            f'base_batch_size=...) or drop --auto-scale-lr')
    drop_persistent_workers_without_workers(cfg)
    return cfg


def train(runner, cfg) -> None:
    """``runner.train()``; a collective that timed out or lost its peer is
    re-raised with the ranks that do not answer (mmprelu.apis.elastic)."""
    try:
        runner.train()
    except Exception as err:
        timeout = ((cfg.get('env_cfg') or {}).get('dist_cfg')
                   or {}).get('timeout')
        message = explain_collective_failure(err, timeout)
        if message is None:
            raise
        runner.logger.error(message)
        raise RuntimeError(message) from err


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    check_common_args(parser, args)
    if args.resume not in (None, 'auto') and not is_remote(args.resume) \
            and not osp.isfile(args.resume):
        parser.error(f'--resume: checkpoint {args.resume!r} does not exist '
                     f'(no value, or "auto", resumes from the latest '
                     f'checkpoint in the work dir)')

    cfg = merge_args(read_config(parser, args.config), args, parser)
    check_config(parser, cfg, args.config)
    runner = build_runner(cfg, args.launcher, resume_on_restart=True)
    # warns if PReLU slopes get weight decay, whatever the config's hooks
    add_slope_decay_check(runner)
    train(runner, cfg)
    del runner  # its DDP wrapper holds the process group
    return close_distributed()


if __name__ == '__main__':
    try:
        # record: torchrun's failure summary then shows the error message
        closed = record(main)()
    except BaseException:
        if not (torch_dist.is_available() and torch_dist.is_initialized()):
            raise
        # a failed rank leaves at once: its process group's teardown can
        # wait forever on a peer that hangs, and torchrun restarts or ends
        # the job only when a rank exits
        traceback.print_exc()
        exit_process(1)
    if closed:
        exit_process(0)
