"""Check a config before anything is built.

Most bad values already fail in a constructor (unknown arch, jitter range
with min > max, unknown MSRA init mode, dense window below the finest SPP
level), but some only when the component is built, long after start-up,
and the cross-cutting ones (a crop larger than the image, an SPP pyramid
finer than the feature map, a dense window larger than every test map)
fail mid-run or silently. A misspelt key of a loop (``train_cfg.max_epoch``)
fails only when the loop is built, with mmengine's ``TypeError``; a
misspelt top-level key (``trian_cfg``) is never read at all.
:func:`validate_config` runs right after the config is loaded (our tools)
and :func:`check_option_keys` before ``--cfg-options`` are merged; both
raise ``ValueError`` naming the config key, the value and what is valid.
"""
import difflib
import inspect
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

from mmengine.registry import LOOPS, DefaultScope
from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop, Runner,
                             TestLoop, ValLoop)

from mmprelu.registry import TRANSFORMS
from .protocols import EDGE_RESIZES, type_name

__all__ = ['validate_config', 'check_option_keys', 'feature_map_size']

CROPS = ('RandomCrop', 'CenterCrop', 'PositionalCrop')
INITS = ('MSRA', 'MSRAInit')
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: Top-level keys read besides the Runner's arguments: by mmengine's Runner
#: from its ``cfg`` (wrapping, compile, ...), by the tools (``runner_type``,
#: test-time augmentation), by mmengine's Config and by our test protocols
READ_KEYS = ('runner_type', 'model_wrapper_cfg', 'find_unused_parameters',
             'sync_bn', 'compile', 'activation_checkpointing',
             'efficient_conv_bn_eval', 'custom_imports', 'tta_model',
             'tta_pipeline', 'test_protocol')
#: What the Runner passes to a loop itself
LOOP_ARGS = ('self', 'runner', 'dataloader', 'evaluator')


def feature_map_size(arch, size: int) -> int:
    """Side of the last PReLUNet map for an input side ``size``, computed
    from the arch (a name of ``PReLUNet.arch_settings`` or a dict) without
    building the net (:meth:`PReLUNet.feature_size`)."""
    from mmprelu.models.backbones.prelu_net import PReLUNet
    return PReLUNet.feature_size(arch, size)


def _pipelines(cfg) -> Iterator[Tuple[str, list]]:
    for loader in DATALOADERS:
        dataset = (cfg.get(loader) or {}).get('dataset', None)
        where = f'{loader}.dataset'
        while isinstance(dataset, dict) and 'pipeline' not in dataset \
                and isinstance(dataset.get('dataset'), dict):
            dataset, where = dataset['dataset'], where + '.dataset'
        if isinstance(dataset, dict) and dataset.get('pipeline'):
            yield f'{where}.pipeline', list(dataset['pipeline'])
    if cfg.get('tta_pipeline'):
        yield 'tta_pipeline', list(cfg.tta_pipeline)


# crop_size order of each crop transform: mmcv's CenterCrop takes (w, h),
# mmpretrain's RandomCrop and our PositionalCrop take (h, w)
CROP_ORDER = {'CenterCrop': 'wh', 'RandomCrop': 'hw', 'PositionalCrop': 'hw'}


def _pair(size) -> Tuple[int, int]:
    return (size, size) if isinstance(size, (int, float)) else tuple(size)


def _crop_hw(step: dict) -> Tuple[int, int]:
    """``(h, w)`` of a crop step's ``crop_size`` (see ``CROP_ORDER``)."""
    first, second = _pair(step['crop_size'])
    if CROP_ORDER.get(step['type'], 'hw') == 'wh':
        return second, first
    return first, second


def _smallest_side(step: dict) -> Optional[int]:
    """Shortest image side a resize step guarantees (None: unknown)."""
    if step.get('edge', 'short') != 'short':
        return None
    if step['type'] == 'RandomChoiceResize':  # scale jitter
        scales = step.get('scales', None)
        if (str(step.get('resize_type', '')).split('.')[-1] != 'ResizeEdge'
                or not isinstance(scales, (list, tuple)) or not scales
                or not all(isinstance(s, int) for s in scales)):
            return None
        return min(scales)
    return step.get('scale', None)


def _check_crop(where, step, smallest) -> Optional[Tuple[int, int]]:
    """Raise if the crop is larger than the smallest image side (either
    axis may be the short one: both must fit); return the crop's ``(h, w)``
    (None when unknown)."""
    crop = step.get('crop_size', None)
    if crop is None:
        return None
    side = max(_pair(crop))
    if smallest is not None and side > smallest \
            and not step.get('pad_if_needed', False):
        raise ValueError(
            f'{where}: {step["type"]} crop_size={crop} is larger than the '
            f'smallest image side {smallest} the resize before it gives; '
            f'use crop_size <= {smallest}, a resize scale >= {side}, or '
            f'pad_if_needed=True')
    return _crop_hw(step)


def _walk(where, steps, state) -> None:
    """Follow a pipeline: ``state`` holds 'smallest' (short side after the
    last resize), 'crops' (``(key, (h, w))``) and 'scales' (test scales
    seen)."""
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or 'type' not in step:
            continue
        here = f'{where}[{i}]'
        kind = step['type']
        if kind in EDGE_RESIZES:
            state['smallest'] = _smallest_side(step)
            if kind == 'ResizeEdge' and state['smallest'] is not None:
                state['scales'].append(state['smallest'])
        elif kind in CROPS:
            crop = _check_crop(here, step, state['smallest'])
            if crop is not None:
                state['crops'].append((here, crop))
        elif kind == 'TestTimeAug':
            for j, options in enumerate(step.get('transforms', [])):
                resizes = [o for o in options if o.get('type') in EDGE_RESIZES]
                if resizes:
                    sides = [_smallest_side(o) for o in resizes]
                    state['scales'].extend(s for s in sides if s is not None)
                    state['smallest'] = (None if None in sides else min(sides))
                for k, option in enumerate(options):
                    if option.get('type') in CROPS:
                        key = f'{here}.transforms[{j}][{k}]'
                        crop = _check_crop(key, option, state['smallest'])
                        if crop is not None:
                            state['crops'].append((key, crop))


def _build_steps(where, steps, scope: str) -> None:
    """Build every transform so that constructor errors (e.g. a jitter
    range with min > max) surface now, prefixed with the config key."""
    with DefaultScope.overwrite_default_scope(scope):
        for i, step in enumerate(steps):
            try:
                TRANSFORMS.build(step)
            except Exception as err:  # re-raised with the location
                raise ValueError(f'{where}[{i}] ({step.get("type")}): '
                                 f'{err}') from err


def _find_inits(node, path) -> Iterator[Tuple[str, dict]]:
    if isinstance(node, dict):
        if node.get('type') in INITS:
            yield path, node
        for key, value in node.items():
            yield from _find_inits(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _find_inits(value, f'{path}[{i}]')


def _check_model(cfg, crops: Sequence[Tuple[str, Tuple[int, int]]],
                 test_scales: Sequence[int]) -> None:
    from mmprelu.models.backbones.prelu_net import PReLUNet
    model, key = cfg.get('model') or {}, 'model'
    tta_model, tta_key = cfg.get('tta_model') or {}, 'tta_model'
    if isinstance(model.get('module', None), dict):  # wrapped by --tta
        tta_model, tta_key = model, key
        model, key = model['module'], 'model.module'
    for path, init in _find_inits(model, key):
        from mmprelu.models.utils.init import MSRAInit
        kwargs = {k: v for k, v in init.items() if k != 'type'}
        try:
            MSRAInit(**kwargs)
        except (ValueError, TypeError) as err:
            raise ValueError(f'{path}: {err}') from err
    backbone = model.get('backbone') or {}
    if backbone.get('type') != 'PReLUNet':
        return
    arch = backbone.get('arch', 'A')
    try:
        feature_map_size(arch, 224)
    except ValueError as err:
        raise ValueError(f'{key}.backbone.arch: {err}') from err
    levels = (model.get('neck') or {}).get('levels', None)
    if model.get('neck', {}).get('type') == 'SpatialPyramidPooling':
        levels = levels or (7, 3, 2, 1)
    finest = max(levels) if levels else 1
    # every crop and every test scale, on both axes: a map below the finest
    # level along either axis cannot be pooled. Of a test scale only the
    # shorter side is known; the longer one is at least as large.
    sizes = [(f'the {h}x{w} (h x w) crop of {where}', (h, w))
             for where, (h, w) in crops]
    sizes += [(f'an image at test scale {s} (shorter side; tta_pipeline or '
               f'test_protocol.scales)', (s, s))
              for s in sorted(set(test_scales))]
    for what, (height, width) in sizes:
        fh = feature_map_size(arch, height)
        fw = feature_map_size(arch, width)
        if min(fh, fw) < finest:
            raise ValueError(
                f'{key}.neck.levels={tuple(levels)}: the finest level '
                f'({finest}) is larger than the {fh}x{fw} last map of '
                f'{what}; use levels <= {min(fh, fw)} or images of at '
                f'least {PReLUNet.smallest_input(arch, finest)} pixels '
                f'on each side')
    if type_name(tta_model.get('type', '')) != 'DenseWindowTTA' or \
            not test_scales:
        return
    window = tta_model.get('window', 14)
    maps = {s: feature_map_size(arch, s) for s in sorted(set(test_scales))}
    if all(side < window for side in maps.values()):
        raise ValueError(
            f'{tta_key}.window={window} is larger than the last map at '
            f'every test scale (scale: side of the map along the image\'s '
            f'shorter side {maps}; a square image would get one window); '
            f'use window <= {max(maps.values())} or larger test scales')


def did_you_mean(key: str, valid: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` with the valid key nearest to ``key``
    (``difflib``), or nothing."""
    near = difflib.get_close_matches(key, list(valid), n=1)
    return f' (did you mean {near[0]!r}?)' if near else ''


def _arguments(cls) -> Optional[set]:
    """Keyword arguments of ``cls`` a config may set (None: any)."""
    params = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params} - set(LOOP_ARGS)


def check_option_keys(cfg, options: Iterable[str]) -> None:
    """Raise ``ValueError`` for a ``--cfg-options`` key whose first part
    neither the config has nor mmengine's Runner reads: merging it would
    change nothing, so it is a typo."""
    valid = set(cfg.keys()) | set(READ_KEYS) | _arguments(Runner) - {'cfg'}
    for option in options:
        top = option.split('.')[0]
        if top not in valid:
            raise ValueError(
                f'--cfg-options {option}: unknown top-level key {top!r}'
                f'{did_you_mean(top, valid)}: neither the config nor '
                f'mmengine\'s Runner has it, so it would change nothing; '
                f'valid keys: {sorted(valid)}')


def _check_loops(cfg) -> None:
    """Every key of ``train_cfg``, ``val_cfg`` and ``test_cfg`` must be an
    argument of the loop the Runner builds from it (``Runner.build_*_loop``:
    ``type``, else by ``by_epoch``, else ``ValLoop`` / ``TestLoop``)."""
    for field, default in (('train_cfg', None), ('val_cfg', ValLoop),
                           ('test_cfg', TestLoop)):
        loop = cfg.get(field, None)
        if not isinstance(loop, dict):
            continue
        loop_type = loop.get('type', default)
        if loop_type is None and 'by_epoch' in loop:
            loop_type = (
                EpochBasedTrainLoop
                if loop['by_epoch'] else IterBasedTrainLoop)
        # `_scope_`, which mmengine's Config adds to the dicts of a `pkg::`
        # base: the scope the registry builds the loop in (build_from_cfg)
        scope = loop.get('_scope_', cfg.get('default_scope', None))
        if isinstance(loop_type, str):
            with DefaultScope.overwrite_default_scope(scope):
                loop_type = LOOPS.get(loop_type)
        valid = _arguments(loop_type) if inspect.isclass(loop_type) else None
        if valid is None:
            continue  # no type, or an unknown one: the Runner names it
        # a train_cfg has `type` or `by_epoch` (Runner.build_train_loop)
        valid.add('by_epoch'
                  if field == 'train_cfg' and 'type' not in loop else 'type')
        for key in loop:
            if key not in valid and key != '_scope_':
                raise ValueError(
                    f'{field}.{key}: {loop_type.__name__} takes no key '
                    f'{key!r}{did_you_mean(key, valid)}; valid keys: '
                    f'{sorted(valid)}')


def validate_config(cfg) -> None:
    """Raise ``ValueError`` for an invalid config (see the module
    docstring). ``cfg`` is an mmengine ``Config`` (or dict-like)."""
    _check_loops(cfg)
    crops: List[Tuple[str, Tuple[int, int]]] = []
    test_scales: List[int] = []
    for where, steps in _pipelines(cfg):
        _build_steps(where, steps, cfg.get('default_scope', 'mmpretrain'))
        state = dict(smallest=None, crops=[], scales=[])
        _walk(where, steps, state)
        crops.extend(state['crops'])
        if where == 'tta_pipeline':
            test_scales.extend(state['scales'])
    protocol = cfg.get('test_protocol') or {}
    test_scales.extend(protocol.get('scales', ()))
    _check_model(cfg, crops, test_scales)
