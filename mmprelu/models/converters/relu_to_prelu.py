"""Replace the ReLUs of any network by PReLUs (§2.1) and re-initialize it
with MSRA init (§2.2, Eq. 15): :func:`convert_relu_to_prelu`.
"""
import warnings
from collections import Counter, defaultdict
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn

from mmprelu.registry import MODELS
from ..utils.activation import PReLU, activation_slope
from ..utils.init import WEIGHT_LAYERS, MSRAInit
from .multi_site import MultiSitePReLU, register_site_resets
from .probe import ProbeResult, probe_model
from .report import ConversionError, ConversionReport, ConvertedModule

__all__ = ['convert_relu_to_prelu', 'apply_msra', 'resolve_convert_types']

MSRA_KEYS = ('mode', 'distribution', 'bias', 'layer', 'a')
#: MSRA re-init touches conv layers only by default: the paper initializes
#: its fc layers with fixed small stds (§2.4), not Eq. (15).
DEFAULT_MSRA_LAYERS = ['_ConvNd']

ScopeType = Union[None, str, Sequence[str]]


def resolve_convert_types(types) -> tuple:
    """Class names (``'ReLU'``, ``'ReLU6'``, ``'LeakyReLU'``, looked up in
    ``torch.nn`` then mmpretrain's ``MODELS``) or classes -> classes."""
    if isinstance(types, (str, type)):
        types = [types]
    out = []
    for t in types:
        cls = t
        if isinstance(t, str):
            cls = getattr(nn, t, None)
            if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
                cls = MODELS.get(t)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise ValueError(
                f'convert_types: {t!r} is not an activation module type; '
                f'use class names such as "ReLU", "ReLU6", "LeakyReLU"')
        if issubclass(cls, nn.PReLU):
            raise ValueError(f'convert_types: {t!r} is already a PReLU')
        out.append(cls)
    if not out:
        raise ValueError('convert_types is empty; e.g. ("ReLU",)')
    return tuple(out)


def _resolve_scope(model: nn.Module, scope: ScopeType) -> Optional[list]:
    if scope is None or scope == '':
        return None
    prefixes = [scope] if isinstance(scope, str) else list(scope)
    names = dict(model.named_modules())
    for p in prefixes:
        if not isinstance(p, str) or p not in names:
            children = [n for n, _ in model.named_children()]
            raise ValueError(
                f'scope: {p!r} is not a module of the model; use None (the '
                f'whole model) or module names such as {children}')
    return [p for p in prefixes if p] or None


def _in_scope(name: str, prefixes: Optional[list]) -> bool:
    if prefixes is None:
        return True
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def _locations(model: nn.Module) -> Dict[nn.Module, List[Tuple]]:
    """module -> every (parent, attribute, full name) it is registered at."""
    out, seen = defaultdict(list), set()
    for pname, parent in model.named_modules(remove_duplicate=False):
        for attr, child in parent._modules.items():
            if child is None or (id(parent), attr) in seen:
                continue
            seen.add((id(parent), attr))
            out[child].append(
                (parent, attr, f'{pname}.{attr}' if pname else attr))
    return out


def _check_msra_cfg(msra: dict) -> dict:
    if not isinstance(msra, dict):
        raise TypeError(f'msra must be a dict (e.g. dict(mode="fan_out")) '
                        f'or None, got {msra!r}')
    cfg = {k: v for k, v in msra.items() if k != 'type'}
    unknown = sorted(set(cfg) - set(MSRA_KEYS))
    if unknown:
        raise ValueError(f'msra: unknown keys {unknown}; valid: {MSRA_KEYS}')
    cfg.setdefault('layer', DEFAULT_MSRA_LAYERS)
    MSRAInit(**{k: v for k, v in cfg.items() if k != 'a'})  # validates
    return cfg


def _msra_slopes(model, probe: ProbeResult, converted: set, init: float,
                 prefixes, msra: dict) -> Dict[str, float]:
    """conv / linear name -> ``a`` of Eq. (15): the initial slope of the
    first rectifier its output reaches (``init`` if that one was converted),
    0 when none does (a linear projection, the classifier); ``msra['a']``
    if that is a number."""
    selector = MSRAInit(layer=msra['layer'])
    fixed = msra.get('a', 'auto')
    slopes = {}
    for name, m in model.named_modules():
        if not (isinstance(m, WEIGHT_LAYERS) and _in_scope(name, prefixes)
                and selector._selected(m)):
            continue
        if fixed != 'auto':
            slopes[name] = float(fixed)
            continue
        consumer, slope = probe.feeds.get(name, (None, 0.0))
        if isinstance(consumer, tuple) and consumer[0] in converted:
            slope = init
        slopes[name] = float(slope)
    return slopes


def apply_msra(model: nn.Module,
               slopes: Dict[str, float],
               msra: dict,
               skip: Sequence[str] = ()) -> List[str]:
    """Draw the weights of the layers named in ``slopes`` with MSRA init
    (Eq. 15, ``a = slopes[name]``); names under a prefix in ``skip`` are
    left alone. Returns the names initialized."""
    init = MSRAInit(**{k: v for k, v in msra.items() if k not in ('a', )})
    modules = dict(model.named_modules())
    done = []
    for name, a in slopes.items():
        if name not in modules or any(p == '' or _in_scope(name, [p])
                                      for p in skip):
            continue
        init.init_layer(modules[name], a)
        done.append(name)
    return done


def _new_activation(channels, channel_shared, init, ref):
    if len(channels) == 1:
        new = PReLU(channels[0] or 1, channel_shared=channel_shared, init=init)
    else:
        new = MultiSitePReLU([c or 1 for c in channels],
                             channel_shared=channel_shared,
                             init=init)
    if ref is not None:
        new = new.to(device=ref.device, dtype=ref.dtype)
    return new


def convert_relu_to_prelu(
        model: nn.Module,
        channel_shared: bool = False,
        init: float = 0.25,
        scope: ScopeType = None,
        convert_types=('ReLU', ),
        msra: Optional[dict] = None,
        strict: bool = False,
        input_shape: Sequence[int] = (1, 3, 224, 224),
        forward: Optional[Callable] = None) -> ConversionReport:
    """Replace, in place, every ReLU module of ``model`` by PReLU (Eq. 1).

    Each *call site* gets its own slopes: a module called once becomes a
    :class:`~mmprelu.models.utils.PReLU` (state-dict key ``<name>.weight``);
    a module called ``k > 1`` times per forward (ResNet's ``Bottleneck``
    ``relu``) becomes a :class:`MultiSitePReLU` with keys
    ``<name>.sites.<i>.weight``, ``i`` in call order. Call sites and channel
    counts come from one probe forward (:mod:`.probe`). All other keys are
    unchanged, so stock checkpoints load (the slopes are then missing keys
    and keep their initial value).

    Args:
        model: any network; its forward must accept ``input_shape``
            (mmengine models are called with ``mode='tensor'``).
        channel_shared: one slope per call site instead of one per channel.
        init: initial slope ``a`` (0.25 in the paper).
        scope: module name(s) whose sub-modules are converted (e.g.
            ``'backbone'``); ``None``: the whole model.
        convert_types: activation module types to convert; ``ReLU6``,
            ``LeakyReLU`` etc. are left alone unless listed.
        msra: ``None`` keeps the weights; a dict re-draws the conv weights in
            ``scope`` with MSRA init, ``a`` = initial slope of the rectifier
            each layer feeds (``init`` for converted ones, 0 for ReLU or
            none). Keys: ``mode`` (default ``'fan_out'``, Eq. 14),
            ``distribution``, ``bias``, ``layer`` (default conv layers only:
            the paper's fc init is §2.4's fixed stds) and ``a`` (a number
            overrides the per-layer slopes).
        strict: if ``True``, raise :class:`ConversionError` (before changing
            anything) when an in-scope ReLU cannot be converted: a module
            the probe never called, or a functional ``F.relu`` /
            ``torch.relu`` / ``x.relu()`` call. Default ``False``: convert
            the rest and emit one ``UserWarning`` listing them all.
        input_shape: shape of the probe's dummy input.
        forward: ``forward(model, x)`` for the probe, if the default call
            does not fit the model.

    Returns:
        ConversionReport: what was converted (names, channels, keys), left
        alone, not converted, and the MSRA slope of every re-drawn layer.
    """
    if not isinstance(channel_shared, bool):
        raise TypeError(f'channel_shared must be True or False, got '
                        f'{channel_shared!r}')
    if isinstance(init, bool) or not isinstance(init, (int, float)):
        raise TypeError(f'init must be a number (the initial slope, 0.25 '
                        f'in the paper), got {init!r}')
    types = resolve_convert_types(convert_types)
    prefixes = _resolve_scope(model, scope)
    msra = None if msra is None else _check_msra_cfg(msra)
    probe = probe_model(model, types, input_shape, forward)
    report = ConversionReport(
        options=dict(
            channel_shared=channel_shared,
            init=init,
            scope=scope,
            convert_types=tuple(t.__name__ for t in types)),
        probe_on_meta=probe.on_meta)

    plan = []
    for module, places in _locations(model).items():
        names = [full for _, _, full in places]
        if not any(_in_scope(n, prefixes) for n in names):
            continue
        label = ', '.join(names)
        if not isinstance(module, types):
            if activation_slope(module) is not None and \
                    not isinstance(module, nn.PReLU):
                report.left_alone.append((label, type(module).__name__))
            continue
        calls = probe.calls.get(module, [])
        if not calls:
            report.not_converted.append(
                (label, type(module).__name__,
                 'never called by the probe forward (unused, or used only '
                 'in training mode or for other inputs); left as is'))
        elif not channel_shared and any(c.channels is None for c in calls):
            report.not_converted.append(
                (label, type(module).__name__,
                 f'called on a {calls[0].ndim}-d input without a channel '
                 f'dimension; left as is (channel_shared=True converts it)'))
        else:
            plan.append((module, places, label, calls))
    wanted = {t.__name__ for t in types}
    counts = Counter(
        f for f in probe.functional
        if _in_scope(f[0], prefixes) and f[2] in wanted)
    report.functional = [(name, typ, func, n)
                         for (name, typ, _, func), n in counts.items()]
    if strict and report.problems:
        raise ConversionError(
            'convert_relu_to_prelu(strict=True): these ReLUs cannot be '
            'converted:\n  ' + '\n  '.join(report.problems))

    ref = next((p for p in model.parameters() if p.is_floating_point()), None)
    modules = dict(model.named_modules())
    resets = defaultdict(list)
    for module, places, label, calls in plan:
        channels = [c.channels for c in calls]
        new = _new_activation(channels, channel_shared, init, ref)
        for parent, attr, _ in places:
            setattr(parent, attr, new)
        reset_by = None
        if isinstance(new, MultiSitePReLU):
            parents = {c.parent for c in calls}
            reset_by = parents.pop() if len(parents) == 1 else ''
            resets[reset_by if reset_by in modules else ''].append(
                (new, label))
        report.converted.append(
            ConvertedModule(label,
                            type(module).__name__, channels,
                            sum(s.numel() for s in new.parameters()),
                            reset_by))
    for owner, sites in resets.items():
        register_site_resets(modules[owner], [m for m, _ in sites],
                             [label for _, label in sites])

    if msra is not None:
        converted = {module for module, *_ in plan}
        report.msra = _msra_slopes(model, probe, converted, float(init),
                                   prefixes, msra)
        apply_msra(model, report.msra, msra)
    if report.problems:
        warnings.warn(
            'convert_relu_to_prelu: not converted (strict=True makes this an '
            'error):\n  ' + '\n  '.join(report.problems),
            stacklevel=2)
    return report
