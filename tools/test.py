"""Evaluate a checkpoint (the command line of mmpretrain 1.x's
``tools/test.py``, plus the paper's test protocols).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--out-item {pred,metrics}] [--tta] [--amp]
        [--protocol {center,whole,ten-view,dense} [--scales S ...]
         [--view-scale S] [--crop-size C] [--no-flip] [--window W]
         [--stride S] [--ten-view-corners {square,full}]]
        [--show-dir DIR] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm,mpi}]

``--out results.pkl|.json`` dumps every prediction (``--out-item metrics``:
the metrics instead). ``--tta`` tests with the config's ``tta_model`` and
``tta_pipeline`` (defaults: ``AverageClsScoreTTA`` over the image and its
flip). ``--protocol`` rewrites both for one of the paper's test protocols
(§5.1, ``mmprelu/apis/protocols.py``) and implies ``--tta``. The metrics
are printed at the end, one ``name: value`` line each. ``--cfg-options``
are merged last, as in mmpretrain (they change the config as rewritten by
``--tta``/``--protocol``: ``model.module.*`` is then the classifier).
CONFIG may inherit ``_base_ = ['mmprelu::<path under configs/>']``
(docs/downstream.md).
"""
import argparse
import numbers
import os.path as osp

from mmengine.dist import get_rank

import mmprelu  # noqa: F401  (registers modules and the safe loader)
from mmprelu.apis import DumpPredictions, close_distributed, exit_process
from mmprelu.apis.cli import (add_common_args, add_config_args,
                              add_protocol_args, build_runner,
                              check_common_args, check_config, check_out_arg,
                              drop_persistent_workers_without_workers,
                              enable_tta, is_remote, merge_cfg_options,
                              protocol_options, read_config,
                              set_dataloader_defaults, set_work_dir)
from mmprelu.apis.protocols import apply_test_protocol
from mmprelu.apis.results import OUT_SUFFIXES, dump_results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Test a classifier')
    add_config_args(parser, 'where the test log goes')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help=f'file to dump predictions to ({OUT_SUFFIXES})')
    parser.add_argument(
        '--out-item',
        choices=['pred', 'metrics'],
        help='what --out holds (default: pred)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation with the config\'s tta_model and '
        'tta_pipeline (default: average of the image and its flip)')
    add_protocol_args(
        parser,
        protocol_help='one of the paper\'s test protocols (implies '
        '--tta); defaults from the config\'s test_protocol')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed-precision test; needs a CUDA GPU')
    parser.add_argument(
        '--show-dir', help='save images with their predictions here')
    parser.add_argument(
        '--show',
        action='store_true',
        help='show images with their predictions')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualize every INTERVAL-th sample')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2.,
        help='seconds each shown image stays')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='pin_memory=False in every dataloader')
    add_common_args(parser)
    return parser


def check_args(parser, args) -> None:
    check_common_args(parser, args)
    if not is_remote(args.checkpoint) and not osp.isfile(args.checkpoint):
        parser.error(f'checkpoint file {args.checkpoint!r} does not exist')
    if args.out_item is not None and args.out is None:
        parser.error('--out-item needs --out FILE')
    check_out_arg(parser, args.out)
    protocol_options(parser, args)  # usage errors now


def enable_visualization(cfg, args, parser) -> None:
    """``--show`` / ``--show-dir``, setting what mmpretrain's tool sets."""
    hook = cfg.get('default_hooks', {}).get('visualization', None)
    if hook is None:
        parser.error('--show/--show-dir need default_hooks.visualization '
                     '(a VisualizationHook) in the config')
    hook.enable = True
    hook.show = args.show
    hook.wait_time = args.wait_time
    hook.out_dir = args.show_dir
    hook.interval = args.interval


def merge_args(cfg, args, parser: argparse.ArgumentParser):
    """Apply the command line to ``cfg`` (an mmengine ``Config``) in the
    order of mmpretrain's tools/test.py, ``--cfg-options`` last (they win
    over --tta and --protocol too); the differences are listed in
    docs/downstream.md."""
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)
    cfg.load_from = args.checkpoint
    cfg.resume = False  # weights only, never the training state
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg', None) or {}, fp16=True)
    if args.show or args.show_dir:
        enable_visualization(cfg, args, parser)

    try:
        if args.protocol is not None:
            apply_test_protocol(cfg, args.protocol,
                                **protocol_options(parser, args))
        if args.tta or args.protocol is not None:
            enable_tta(cfg)
    except ValueError as err:
        parser.error(f'{args.config}: {err}')

    set_dataloader_defaults(
        cfg, no_pin_memory=args.no_pin_memory, loaders=['test_dataloader'])
    merge_cfg_options(parser, cfg, args.cfg_options)
    drop_persistent_workers_without_workers(cfg, ['test_dataloader'])
    return cfg


def format_metric(value) -> str:
    if isinstance(value, numbers.Real) and \
            not isinstance(value, numbers.Integral):
        return f'{float(value):.4f}'
    return str(value)


def main(argv=None, exit_on_close=False):
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)

    cfg = merge_args(read_config(parser, args.config), args, parser)
    check_config(parser, cfg, args.config)
    runner = build_runner(cfg, args.launcher)

    if args.out is not None and args.out_item in (None, 'pred'):
        runner.test_evaluator.metrics.append(
            DumpPredictions(out_file_path=args.out))
    metrics = runner.test()

    if get_rank() == 0:
        if args.out is not None and args.out_item == 'metrics':
            dump_results(metrics, args.out)
        for name, value in metrics.items():
            print(f'{name}: {format_metric(value)}')
        if args.out is not None:
            print(f'{args.out_item or "pred"} written to {args.out}')
    del runner  # its DDP wrapper holds the process group
    if close_distributed() and exit_on_close:
        exit_process(0)
    return metrics


if __name__ == '__main__':
    main(exit_on_close=True)
