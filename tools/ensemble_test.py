"""Test an ensemble of classifiers (Table 7: "a combination of six
models"): each (config, checkpoint) member is tested under the same
protocol, their softmax scores are averaged per image, and the ensemble's
top-1/top-5 are printed with every member's.

    python tools/ensemble_test.py CONFIG1 CKPT1 CONFIG2 CKPT2 [...]
        [--protocol {center,whole,ten-view,dense} [--scales S ...]
         [--view-scale S] [--crop-size C] [--no-flip] [--window W]
         [--stride S] [--ten-view-corners {square,full}]]
        [--out FILE.pkl|.json] [--work-dir DIR]
        [--cfg-options KEY=VALUE ...]

Without ``--protocol`` each member is tested with its config's test
pipeline (as ``tools/test.py`` does). ``--out`` writes the ensemble's
per-image results in the format of ``tools/test.py --out`` (averaged
``pred_score``, its argmax as ``pred_label``). ``--cfg-options`` apply to
every member. Members whose class lists differ (checkpoint
``meta.dataset_meta.classes``, else the config's test dataset classes) are
refused before anything runs, naming the files; so are members that test
different images. One process, no launcher (see mmprelu/apis/ensemble.py).
"""
import argparse
import os
import os.path as osp
import time

from mmengine.config import DictAction

import mmprelu  # noqa: F401  (registers modules and the safe loader)
from mmprelu.apis.cli import (add_protocol_args, build_runner, check_out_arg,
                              enable_tta, protocol_options, read_config,
                              set_dataloader_defaults)
from mmprelu.apis.ensemble import (ScoreAverager, ScoreCollector,
                                   check_same_classes, member_classes,
                                   topk_accuracy)
from mmprelu.apis.protocols import apply_test_protocol
from mmprelu.apis.results import OUT_SUFFIXES, dump_results
from mmprelu.apis.validate import check_option_keys, validate_config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Test an ensemble: average the softmax scores of '
        'several (config, checkpoint) members')
    parser.add_argument(
        'members',
        nargs='+',
        metavar='CONFIG CHECKPOINT',
        help='config and checkpoint of each member, in pairs')
    add_protocol_args(
        parser,
        protocol_help='test protocol of every member (default: the '
        'config\'s test pipeline)')
    parser.add_argument(
        '--out', help=f'per-image ensemble results '
        f'({OUT_SUFFIXES})')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/ensemble',
        help='logs of the members (default: %(default)s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        metavar='KEY=VALUE',
        help='override config entries of every member')
    return parser


def check_args(parser, args):
    """(config, checkpoint) pairs; usage errors exit with code 2."""
    if len(args.members) < 2 or len(args.members) % 2:
        parser.error(f'expected CONFIG CHECKPOINT pairs (at least one), got '
                     f'{len(args.members)} paths: {args.members}')
    pairs = list(zip(args.members[::2], args.members[1::2]))
    for cfg, ckpt in pairs:
        if not osp.isfile(cfg) or not cfg.endswith('.py'):
            parser.error(f'config {cfg!r} is not a .py file (members are '
                         f'CONFIG CHECKPOINT pairs)')
        if not osp.isfile(ckpt):
            parser.error(f'checkpoint file {ckpt!r} does not exist')
    check_out_arg(parser, args.out)
    return pairs


def member_config(path, ckpt, index, args, stamp, protocol_kwargs, parser):
    cfg = read_config(parser, path)
    if args.cfg_options:
        check_option_keys(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = 'none'
    cfg.work_dir = osp.join(args.work_dir, f'member{index}')
    cfg.experiment_name = f'ensemble_{stamp}_member{index}'
    cfg.load_from, cfg.resume = ckpt, False
    set_dataloader_defaults(cfg)
    if args.protocol is not None:
        apply_test_protocol(cfg, args.protocol, **protocol_kwargs)
        enable_tta(cfg)
    validate_config(cfg)
    return cfg


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    pairs = check_args(parser, args)
    protocol_kwargs = protocol_options(parser, args)
    os.environ.setdefault('LOCAL_RANK', '0')
    stamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    try:
        cfgs = [
            member_config(c, k, i, args, stamp, protocol_kwargs, parser)
            for i, (c, k) in enumerate(pairs, 1)
        ]
        check_same_classes(
            pairs,
            [member_classes(cfg, ckpt) for cfg, (_, ckpt) in zip(cfgs, pairs)])
    except ValueError as err:
        parser.error(str(err))

    averager, lines = ScoreAverager(), []
    for i, (cfg, (path, ckpt)) in enumerate(zip(cfgs, pairs), 1):
        runner = build_runner(cfg, 'none')
        results = []
        runner.test_evaluator.metrics.append(ScoreCollector(results))
        runner.test()
        del runner
        try:
            averager.add(f'{path} + {ckpt}', results)
        except ValueError as err:
            parser.error(str(err))
        mine = topk_accuracy(results)
        lines.append(f'member {i} ({path}, {ckpt}): ' +
                     '  '.join(f'{k}: {v:.4f}' for k, v in mine.items()))

    ensemble = averager.averaged()
    metrics = topk_accuracy(ensemble)
    print('\n'.join(lines))
    print(f'ensemble of {len(pairs)} (mean of softmax scores, protocol '
          f'{args.protocol or "config"}):')
    for name, value in metrics.items():
        print(f'{name}: {value:.4f}')
    if args.out:
        dump_results(ensemble, args.out)
        print(f'pred written to {args.out}')
    return metrics


if __name__ == '__main__':
    main()
