"""Warn (or fail) when the optimizer would put weight decay on PReLU slopes.

§2.1: "A weight decay tends to push a_i to zero, and thus biases PReLU
toward ReLU", so the paper trains the slopes without it. Our schedules use
``PReLUOptimWrapperConstructor``, which keeps it off; a config that replaces
``optim_wrapper`` whole (``_delete_=True``, a fresh dict in a non-inheriting
config) silently drops that constructor and decays the slopes again.

The check looks at the **built** optimizer, so it covers every constructor:
mmengine's default one, ours with ``slope_decay_mult > 0``, a third-party
one, ``custom_keys`` that happen to match the slopes. A slope is a parameter
owned by an :class:`torch.nn.PReLU` module (ours subclasses it), the rule
``PReLUOptimWrapperConstructor`` uses; a slope is decayed when its param
group has ``weight_decay > 0``, the parameter requires grad and the group's
lr is not 0.
"""
import logging
from typing import List, NamedTuple, Optional, Sequence

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmprelu.registry import HOOKS

FIX = ("set optim_wrapper.constructor='PReLUOptimWrapperConstructor' "
       "(keeps weight decay off PReLU slopes; with it, "
       "optim_wrapper.paramwise_cfg.slope_decay_mult=0), or give the slopes "
       "decay_mult=0 in optim_wrapper.paramwise_cfg.custom_keys")
STRICT_KEY = 'default_hooks.slope_decay_check.strict'


class DecayedSlope(NamedTuple):
    name: str
    group: int
    weight_decay: float


def _optimizers(optim_wrapper):
    """(prefix, torch optimizer) pairs of an ``OptimWrapper`` or an
    ``OptimWrapperDict``."""
    if hasattr(optim_wrapper, 'optim_wrappers'):  # OptimWrapperDict
        return [(f'{key}: ', wrapper.optimizer)
                for key, wrapper in optim_wrapper.optim_wrappers.items()]
    return [('', optim_wrapper.optimizer)]


def decayed_slopes(model: nn.Module, optimizer,
                   slope_types: Sequence[type] = (nn.PReLU, )
                   ) -> List[DecayedSlope]:
    """The PReLU slopes of ``model`` that ``optimizer`` (a
    ``torch.optim.Optimizer``) would decay, with their param group index and
    weight decay."""
    if is_model_wrapper(model):
        model = model.module
    slopes = {}
    for mod_name, module in model.named_modules():
        if isinstance(module, tuple(slope_types)):
            for p_name, param in module.named_parameters(recurse=False):
                if param.requires_grad:
                    full = f'{mod_name}.{p_name}' if mod_name else p_name
                    slopes[id(param)] = full
    found = []
    for index, group in enumerate(optimizer.param_groups):
        decay = float(group.get('weight_decay', 0.) or 0.)
        if decay <= 0 or group.get('lr', 1.) == 0:
            continue
        for param in group['params']:
            if id(param) in slopes:
                found.append(DecayedSlope(slopes[id(param)], index, decay))
    return found


def slope_decay_message(found: List[DecayedSlope],
                        constructor: Optional[str]) -> str:
    """The warning / error text for ``found`` (non-empty)."""
    first = found[0]
    decays = sorted({f.weight_decay for f in found})
    used = constructor or 'DefaultOptimWrapperConstructor (the default)'
    return (f'optim_wrapper: {len(found)} PReLU slope parameter(s) get '
            f'weight decay {decays} (e.g. {first.name!r} in param group '
            f'{first.group}), with optim_wrapper.constructor={used}. The '
            f'paper uses none on the slopes (§2.1: weight decay "biases '
            f'PReLU toward ReLU"). Fix: {FIX}. If the decay is intended, '
            f'ignore this; {STRICT_KEY}=True makes it an error.')


@HOOKS.register_module()
class SlopeDecayCheckHook(Hook):
    """Check the built optimizer once, before training (``before_run``):
    if it would weight-decay any PReLU slope, log one warning naming the
    config key and the fix, or raise ``ValueError`` with ``strict=True``
    (``--cfg-options default_hooks.slope_decay_check.strict=True``).

    Args:
        strict (bool): raise instead of warning. Defaults to False.
        slope_types (Sequence[str | type], optional): module types whose
            parameters are slopes; strings are looked up in the ``MODELS``
            registry. Defaults to ``torch.nn.PReLU`` (the class itself, not
            a registry name, which may resolve to our subclass and miss
            plain ``nn.PReLU`` modules).
    """

    priority = 'VERY_HIGH'

    def __init__(self, strict: bool = False,
                 slope_types: Optional[Sequence] = None) -> None:
        if not isinstance(strict, bool):
            raise ValueError(f'SlopeDecayCheckHook: strict must be True or '
                             f'False, got {strict!r}')
        self.strict = strict
        self.slope_types = (nn.PReLU, ) if slope_types is None else tuple(
            slope_types)
        self.found: List[DecayedSlope] = []

    def _types(self) -> tuple:
        from mmprelu.registry import MODELS
        types = []
        for t in self.slope_types:
            cls = MODELS.get(t) if isinstance(t, str) else t
            if not isinstance(cls, type) or not issubclass(cls, nn.Module):
                raise ValueError(f'SlopeDecayCheckHook: slope_types entry '
                                 f'{t!r} is not a registered nn.Module type '
                                 f'(e.g. "PReLU")')
            types.append(cls)
        return tuple(types)

    def before_run(self, runner) -> None:
        wrapper = getattr(runner, 'optim_wrapper', None)
        if wrapper is None or isinstance(wrapper, dict):
            return  # not built: a test or val run
        types = self._types()
        self.found = []
        for prefix, optimizer in _optimizers(wrapper):
            self.found.extend(
                f._replace(name=prefix + f.name)
                for f in decayed_slopes(runner.model, optimizer, types))
        if not self.found:
            return
        cfg = getattr(runner, 'cfg', None) or {}
        constructor = (cfg.get('optim_wrapper', None) or {}).get(
            'constructor', None)
        message = slope_decay_message(self.found, constructor)
        if self.strict:
            raise ValueError(message)
        print_log(message, logger='current', level=logging.WARNING)


def add_slope_decay_check(runner) -> None:
    """Register a :class:`SlopeDecayCheckHook` in ``runner`` unless its
    config already has one (``tools/train.py``: configs that do not inherit
    ``configs/_base_/default_runtime.py`` are checked too)."""
    if not any(isinstance(h, SlopeDecayCheckHook) for h in runner.hooks):
        runner.register_hook(SlopeDecayCheckHook())
