"""Warn (or fail) when the optimizer would put weight decay on PReLU slopes.

§2.1: "A weight decay tends to push a_i to zero, and thus biases PReLU
toward ReLU", so the paper trains the slopes without it. Our schedules use
``PReLUOptimWrapperConstructor``, which keeps it off; a config that replaces
``optim_wrapper`` whole (``_delete_=True``, a fresh dict in a non-inheriting
config) silently drops that constructor and decays the slopes again.

Why a hook and not a check inside the constructor or in our config
validation: the constructor is exactly what such a config drops, and
``validate_config`` runs only in our tools, while ``default_hooks`` reach
mmpretrain's stock ``tools/train.py`` too. The check looks at the **built**
optimizer, so it covers every constructor: mmengine's default one, ours
with ``slope_decay_mult > 0``, a third-party one, ``custom_keys`` that
happen to match the slopes. A slope is a parameter owned by a
:class:`torch.nn.PReLU` module (ours subclasses it), the constructor's rule;
it is decayed when its param group has ``weight_decay > 0``, the parameter
requires grad and the group's lr is not 0.
"""
import logging
from typing import List, NamedTuple, Optional, Sequence

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmprelu.registry import HOOKS
from ..optimizers.prelu_constructor import resolve_module_types
from .switchable import SwitchableHook

FIX = ("set optim_wrapper.constructor='PReLUOptimWrapperConstructor' "
       "(keeps weight decay off PReLU slopes; with it, "
       "optim_wrapper.paramwise_cfg.slope_decay_mult=0), or give the slopes "
       "decay_mult=0 in optim_wrapper.paramwise_cfg.custom_keys")
STRICT_KEY = 'default_hooks.slope_decay_check.strict'


class DecayedSlope(NamedTuple):
    name: str
    group: int
    weight_decay: float


def decayed_slopes(model: nn.Module, optimizer,
                   slope_types=(nn.PReLU, )) -> List[DecayedSlope]:
    """The PReLU slopes of ``model`` that ``optimizer`` (a
    ``torch.optim.Optimizer``) would decay, with their param group index and
    weight decay."""
    if is_model_wrapper(model):
        model = model.module
    slopes = {
        id(param): name
        for name, param in model.named_parameters() if param.requires_grad
    }
    owned = {
        id(p)
        for m in model.modules() if isinstance(m, slope_types)
        for p in m.parameters(recurse=False)
    }
    return [
        DecayedSlope(slopes[id(param)], index, float(group['weight_decay']))
        for index, group in enumerate(optimizer.param_groups)
        if (group.get('weight_decay') or 0) > 0 and group.get('lr') != 0
        for param in group['params']
        if id(param) in owned and id(param) in slopes
    ]


@HOOKS.register_module()
class SlopeDecayCheckHook(SwitchableHook):
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
        enable (bool): ``False`` switches the check off. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 strict: bool = False,
                 slope_types: Optional[Sequence] = None,
                 enable: bool = True) -> None:
        super().__init__(enable)
        if not isinstance(strict, bool):
            raise ValueError(f'SlopeDecayCheckHook: strict must be True or '
                             f'False, got {strict!r}')
        self.strict = strict
        self.slope_types = resolve_module_types(
            slope_types or [nn.PReLU],
            'default_hooks.slope_decay_check.slope_types')
        self.found: List[DecayedSlope] = []

    def before_run(self, runner) -> None:
        wrapper = getattr(runner, 'optim_wrapper', None)
        if wrapper is None or isinstance(wrapper, dict):
            return  # not built: a test or val run
        # an OptimWrapperDict holds one wrapper per key
        wrappers = getattr(wrapper, 'optim_wrappers', {'': wrapper})
        self.found = [
            f._replace(name=f'{key}: {f.name}' if key else f.name)
            for key, each in wrappers.items() for f in decayed_slopes(
                runner.model, each.optimizer, self.slope_types)
        ]
        if not self.found:
            return
        cfg = getattr(runner, 'cfg', None) or {}
        constructor = (cfg.get('optim_wrapper', None)
                       or {}).get('constructor', None)
        message = slope_decay_message(self.found, constructor)
        if self.strict:
            raise ValueError(message)
        print_log(message, logger='current', level=logging.WARNING)


def slope_decay_message(found: List[DecayedSlope],
                        constructor: Optional[str]) -> str:
    """The warning / error text for ``found`` (non-empty)."""
    decays = sorted({f.weight_decay for f in found})
    used = constructor or 'DefaultOptimWrapperConstructor (the default)'
    return (f'optim_wrapper: {len(found)} PReLU slope parameter(s) get '
            f'weight decay {decays} (e.g. {found[0].name!r} in param group '
            f'{found[0].group}), with optim_wrapper.constructor={used}. The '
            f'paper uses none on the slopes (§2.1: weight decay "biases '
            f'PReLU toward ReLU"). Fix: {FIX}. If the decay is intended, '
            f'ignore this; {STRICT_KEY}=True makes it an error.')


def add_slope_decay_check(runner) -> None:
    """Register a :class:`SlopeDecayCheckHook` in ``runner`` unless its
    config already has one (``tools/train.py``: configs that do not inherit
    ``configs/_base_/default_runtime.py`` are checked too)."""
    if not any(isinstance(h, SlopeDecayCheckHook) for h in runner.hooks):
        runner.register_hook(SlopeDecayCheckHook())
