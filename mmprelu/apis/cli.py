"""Helpers shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import copy
import os
import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.config import DictAction
from mmengine.device import get_device
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .config_loader import ConfigAdapterError, load_config
from .config_names import ConfigNameError
from .elastic import restart_reason
from .launch import LAUNCHERS, init_distributed
from .protocols import PROTOCOLS, TEN_VIEW_CORNERS, flip_views
from .results import check_out_file
from .resume import resolve_resume
from .validate import DATALOADERS, check_option_keys, validate_config

AMP_ERROR = ('--amp: automatic mixed precision needs a CUDA GPU '
             '(torch.cuda.is_available() is False on this machine); drop '
             '--amp to run in full precision on the CPU')


def add_config_args(parser: argparse.ArgumentParser,
                    work_dir_help: str) -> None:
    """The ``config`` argument and ``--work-dir`` (help: ``work_dir_help``
    and the default of :func:`set_work_dir`)."""
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--work-dir',
        help=f'{work_dir_help} (default: the config\'s work_dir, else '
        f'./work_dirs/<config name>)')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher`` and ``--local_rank``."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        metavar='KEY=VALUE',
        help='override config entries, e.g. train_cfg.max_epochs=2 '
        'model.backbone.arch=B; lists as key="[a,b]"; merged last, as in '
        'mmpretrain\'s tools: they win over the other options')
    parser.add_argument(
        '--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def add_protocol_args(parser: argparse.ArgumentParser,
                      protocol_help: str) -> None:
    """``--protocol`` and the options that adjust it (the keywords of
    :func:`~mmprelu.apis.protocols.apply_test_protocol`); read them back
    with :func:`protocol_options`."""
    parser.add_argument('--protocol', choices=PROTOCOLS, help=protocol_help)
    parser.add_argument(
        '--scales', type=int, nargs='+', help='--protocol: image scales')
    parser.add_argument(
        '--view-scale',
        type=int,
        help='--protocol center/ten-view: image scale')
    parser.add_argument(
        '--crop-size', type=int, help='--protocol center/ten-view: crop size')
    parser.add_argument(
        '--no-flip', action='store_true', help='--protocol: no flipped views')
    parser.add_argument(
        '--window', type=int, help='--protocol dense: window on the last map')
    parser.add_argument(
        '--stride', type=int, help='--protocol dense: window stride')
    parser.add_argument(
        '--ten-view-corners',
        choices=TEN_VIEW_CORNERS,
        help='--protocol ten-view: corners of the central view-scale square '
        '(square, AlexNet\'s, the default) or of the whole resized image '
        '(full)')


PROTOCOL_OPTIONS = ('scales', 'view_scale', 'crop_size', 'window', 'stride',
                    'ten_view_corners')


def protocol_options(parser: argparse.ArgumentParser, args) -> dict:
    """The keyword arguments of ``apply_test_protocol`` given on the
    command line (see :func:`add_protocol_args`); giving any of them
    without ``--protocol`` is a usage error (exit code 2)."""
    given = [n for n in PROTOCOL_OPTIONS if getattr(args, n) is not None]
    if args.no_flip:
        given.append('no_flip')
    if given and args.protocol is None:
        names = ', '.join('--' + n.replace('_', '-') for n in given)
        parser.error(f'{names} only apply with --protocol {{'
                     f'{",".join(PROTOCOLS)}}}')
    options = {n: getattr(args, n) for n in PROTOCOL_OPTIONS}
    options['flip'] = False if args.no_flip else None
    return options


def check_out_arg(parser: argparse.ArgumentParser, out) -> None:
    """``--out`` must be a file :class:`~.results.DumpPredictions` can
    write (usage error otherwise)."""
    if out is not None:
        try:
            check_out_file(out)
        except ValueError as err:
            parser.error(str(err))


def is_remote(path: str) -> bool:
    return '://' in str(path)


def check_common_args(parser: argparse.ArgumentParser, args) -> None:
    """Argument errors that need no config (exit code 2, usage message)."""
    if not osp.isfile(args.config):
        parser.error(f'config file {args.config!r} does not exist')
    # the devices mmengine's AmpOptimWrapper accepts
    if getattr(args, 'amp', False) and \
            get_device() not in ('cuda', 'npu', 'mlu', 'musa'):
        parser.error(AMP_ERROR)
    # the legacy torch.distributed.launch passes --local-rank; slurm and mpi
    # get theirs from their own variables (mmprelu.apis.launch)
    if args.launcher in ('none', 'pytorch') and 'LOCAL_RANK' not in \
            os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)


def read_config(parser: argparse.ArgumentParser, path: str):
    """The config at ``path`` (:func:`~.config_loader.load_config`: also
    resolves ``mmprelu::`` bases); a bad ``mmprelu::`` name or an mmengine
    the adapter does not know is a usage error (exit code 2)."""
    try:
        return load_config(path)
    except (ConfigNameError, ConfigAdapterError) as err:
        parser.error(f'{path}: {err}')


def set_work_dir(cfg, work_dir, config: str) -> None:
    """``work_dir`` if given, else the config's, else
    ``./work_dirs/<config file stem>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        stem = osp.splitext(osp.basename(config))[0]
        cfg.work_dir = osp.join('./work_dirs', stem)


def own_scope(cfg) -> bool:
    """Whether ``cfg`` is a config of mmpretrain's scope (or names none),
    whose tool our tools stand in for. A config of another scope (mmdet's)
    gets no defaults of ours: what it sets, and what its own tool would set
    (mmdet's sets no dataloader keys: mmengine's ``pseudo_collate``), stays.
    """
    return cfg.get('default_scope', None) in (None, 'mmpretrain')


def set_dataloader_defaults(cfg,
                            no_pin_memory: bool = False,
                            no_persistent_workers: Optional[bool] = None,
                            loaders: Sequence[str] = DATALOADERS) -> None:
    """mmpretrain's dataloader defaults (its tools' ``merge_args``) for
    ``loaders`` of an mmpretrain config (:func:`own_scope`), which the
    config's own values override; ``no_pin_memory`` and
    ``no_persistent_workers`` apply to every config.

    ``collate_fn`` defaults to ``default_collate`` (our configs' test
    loaders name ``pseudo_collate``: docs/protocols.md). ``pin_memory``
    defaults to True only with CUDA
    (mmpretrain: always; pinning needs an accelerator and PyTorch warns
    without one). ``no_persistent_workers`` not None (the training tool):
    ``persistent_workers`` defaults to True, False with the flag. Call
    :func:`drop_persistent_workers_without_workers` after
    ``--cfg-options``.
    """
    defaults = own_scope(cfg)
    for field in loaders:
        loader = cfg.get(field, None)
        if loader is None:
            continue
        if defaults:
            loader.setdefault('collate_fn', dict(type='default_collate'))
            loader.setdefault('pin_memory', torch.cuda.is_available())
            if no_persistent_workers is not None:
                loader.setdefault('persistent_workers', True)
        if no_pin_memory:
            loader['pin_memory'] = False
        if no_persistent_workers:
            loader['persistent_workers'] = False


def merge_cfg_options(parser: argparse.ArgumentParser, cfg,
                      options: Optional[dict]) -> None:
    """``--cfg-options`` merged into ``cfg``; a top-level key that neither
    the config nor mmengine's Runner knows is a usage error naming the
    nearest valid key (:func:`~.validate.check_option_keys`)."""
    if options:
        try:
            check_option_keys(cfg, options)
        except ValueError as err:
            parser.error(str(err))
        cfg.merge_from_dict(options)


def drop_persistent_workers_without_workers(
        cfg, loaders: Sequence[str] = DATALOADERS) -> None:
    """``persistent_workers=False`` where a loader has no workers: PyTorch's
    DataLoader rejects the pair (mmpretrain's tools then fail)."""
    for field in loaders:
        loader = cfg.get(field, None)
        if loader is not None and not loader.get('num_workers', 0):
            if loader.get('persistent_workers', False):
                loader['persistent_workers'] = False


def flip_tta_pipeline(test_pipeline: list) -> list:
    """A test-time augmentation pipeline from a test pipeline, as
    mmpretrain's ``tools/test.py --tta`` makes it: every step but the final
    ``PackInputs``, then a ``TestTimeAug`` of the flipped image and the
    image, each packed."""
    if not test_pipeline or test_pipeline[-1].get('type') != 'PackInputs':
        types = [step.get('type') for step in test_pipeline or []]
        raise ValueError(
            f'--tta without a tta_pipeline in the config needs a '
            f'test_dataloader.dataset.pipeline ending with PackInputs, got '
            f'{types}')
    steps = copy.deepcopy(list(test_pipeline))
    pack = steps.pop()
    return steps + [
        dict(
            type='TestTimeAug',
            transforms=[flip_views(flipped_first=True), [pack]])
    ]


def enable_tta(cfg) -> None:
    """Test with ``cfg.tta_model`` wrapping ``cfg.model`` and
    ``cfg.tta_pipeline`` as the test pipeline (both filled in when the
    config has none: ``AverageClsScoreTTA`` and :func:`flip_tta_pipeline`,
    as in mmpretrain's ``tools/test.py``). A config of another scope
    (:func:`own_scope`) must name both itself: its own tool's defaults
    differ (mmdet's: ``DetTTAModel``, ``PackDetInputs``).
    """
    missing = [
        key for key in ('tta_model', 'tta_pipeline')
        if cfg.get(key, None) is None
    ]
    if missing and not own_scope(cfg):
        raise ValueError(
            f'--tta: a config of scope {cfg.default_scope!r} needs its own '
            f'{" and ".join(missing)}; the defaults here are mmpretrain\'s '
            f'(AverageClsScoreTTA over a flip)')
    if cfg.get('tta_model', None) is None:
        cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
    if cfg.get('tta_pipeline', None) is None:
        cfg.tta_pipeline = flip_tta_pipeline(
            cfg.test_dataloader.dataset.pipeline)
    tta_model = dict(cfg.tta_model)
    tta_model['module'] = cfg.model
    cfg.model = tta_model
    # test_dataloader may be the same object as val_dataloader: copy it
    loader = copy.deepcopy(cfg.test_dataloader)
    loader.dataset.pipeline = cfg.tta_pipeline
    cfg.test_dataloader = loader


def check_config(parser: argparse.ArgumentParser, cfg, path: str) -> None:
    """:func:`~.validate.validate_config`; an invalid config is a usage
    error naming the file, the key and what is valid (exit code 2)."""
    try:
        validate_config(cfg)
    except ValueError as err:
        parser.error(f'{path}: {err}')


def build_runner(cfg, launcher: str, resume_on_restart: bool = False):
    """Create the process group (see
    :func:`~mmprelu.apis.launch.init_distributed`), choose the checkpoint
    to resume from when ``cfg.resume`` is set (see :mod:`mmprelu.apis.resume`;
    ``resume_on_restart`` resumes a restarted job by itself) and build the
    Runner (``cfg.runner_type`` if set) -- the common start of our tools,
    after :func:`check_config`."""
    init_distributed(cfg, launcher)
    notes = []
    if cfg.get('resume', False) is True or resume_on_restart:
        restart = restart_reason() if resume_on_restart else None
        notes = resolve_resume(cfg, restart)
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    for level, message in notes:
        runner.logger.log(level, message)
    return runner
