"""Optimizer constructor that keeps weight decay off PReLU slopes (§2.1)."""
from functools import partial
from typing import List, Optional, Sequence, Union

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor

from mmprelu.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS


def resolve_module_types(types: Sequence[Union[str, type]], key: str) -> tuple:
    """``types`` as classes; strings are looked up in ``MODELS``. A bad
    entry raises ``ValueError`` naming the config ``key``."""
    resolved = []
    for t in types:
        cls = MODELS.get(t) if isinstance(t, str) else t
        if not isinstance(cls, type) or not issubclass(cls, nn.Module):
            raise ValueError(f'{key}: {t!r} is not a registered nn.Module '
                             f'type (e.g. "PReLU")')
        resolved.append(cls)
    return tuple(resolved)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class PReLUOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, plus: no weight decay on the slopes
    of PReLU modules.

    §2.1: "A weight decay tends to push a_i to zero, and thus biases PReLU
    toward ReLU", so the paper uses none on ``a``. The slopes are found by
    **module type** (every :class:`torch.nn.PReLU`, which includes
    :class:`mmprelu.models.utils.PReLU`), not by parameter-name patterns, so
    the rule holds for any model that contains a PReLU, including zoo
    models converted to PReLU. All other parameters keep the optimizer's
    weight decay (5e-4 in our schedules) and every other ``paramwise_cfg``
    rule of the default constructor.

    Extra ``paramwise_cfg`` keys (removed before the default constructor
    sees them):

    * ``slope_decay_mult`` (float): weight decay of slopes is
      ``weight_decay * slope_decay_mult``. Defaults to 0 (the paper). This
      rule is applied last, so it also wins over ``custom_keys`` and
      ``flat_decay_mult``.
    * ``slope_module_types`` (list[str | type]): module types whose
      parameters are slopes. Defaults to ``[nn.PReLU]``; strings are looked
      up in mmpretrain's ``MODELS`` registry.

    The learning rate and momentum of slopes are those of the weights: the
    paper updates ``a`` with the same momentum SGD (Eq. 4) and gives no
    multiplier.

    Param groups: mmengine's rules give every parameter its own group (65
    for model C, i.e. 65 optimizer launches per step on a GPU). Groups whose
    settings are equal (every key but ``params``, with the optimizer
    config's values for keys a group does not set) are merged, in order of
    first appearance, keeping the parameters' order: usually two groups
    (decayed weights, slopes). Every parameter keeps its lr, weight decay,
    momentum and any other key. The groups are plain dicts, which
    ``torch.compile`` needs (mmengine's are ``ConfigDict`` s). Checkpoints
    written with one group per parameter (before groups were merged) still
    resume: the optimizer converts their state when it is loaded.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        self.slope_decay_mult = float(
            paramwise_cfg.pop('slope_decay_mult', 0.))
        self.slope_module_types = resolve_module_types(
            paramwise_cfg.pop('slope_module_types', [nn.PReLU]),
            'paramwise_cfg.slope_module_types')
        # A non-empty paramwise_cfg makes the default constructor build one
        # param group per parameter (``add_params``), where we hook in.
        paramwise_cfg.setdefault('custom_keys', {})
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module=None) -> None:
        first = len(params)
        super().add_params(params, module, prefix, is_dcn_module)
        if isinstance(module, self.slope_module_types):
            own = {id(p) for p in module.parameters(recurse=False)}
            for group in params[first:]:
                if id(group['params'][0]) in own:
                    group['weight_decay'] = (self.base_wd or 0.) * \
                        self.slope_decay_mult
        if not prefix:  # the whole model (children have a prefix): merge
            self._members = group_members(params, self.optimizer_cfg)
            params[:] = [
                dict(
                    params[ids[0]],
                    params=[params[i]['params'][0] for i in ids])
                for ids in self._members
            ]

    def __call__(self, model: nn.Module):
        optim_wrapper = super().__call__(model)
        optimizer = optim_wrapper.optimizer
        # mmengine hands the groups to the optimizer inside its config, so
        # they arrive as ConfigDicts, which torch.compile (Dynamo, torch
        # 2.14) cannot trace in optimizer.step(); plain dicts behave the same
        groups = optimizer.param_groups
        for i, group in enumerate(groups):
            groups[i] = {key: value for key, value in group.items()}
        optimizer.register_load_state_dict_pre_hook(
            partial(merge_saved_groups, self._members))
        return optim_wrapper


def _same(a, b) -> bool:
    """Equal settings: equal values of one type (any two non-bool numbers
    compare by value); tensors only if identical."""
    numbers = all(
        isinstance(x, (int, float)) and not isinstance(x, bool)
        for x in (a, b))
    if not numbers and type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except (RuntimeError, TypeError, ValueError):
        return a is b


def group_members(groups: List[dict], optimizer_cfg: dict) -> List[list]:
    """Indices of ``groups`` (one parameter each) with equal settings, in
    order of first appearance; a key a group lacks counts with its value in
    ``optimizer_cfg``."""

    def settings(group):
        merged = {k: v for k, v in optimizer_cfg.items() if k != 'type'}
        merged.update((k, v) for k, v in group.items() if k != 'params')
        return merged

    members, keys = [], []
    for i, group in enumerate(groups):
        mine = settings(group)
        for ids, key in zip(members, keys):
            if key.keys() == mine.keys() and all(
                    _same(key[k], mine[k]) for k in key):
                ids.append(i)
                break
        else:
            members.append([i])
            keys.append(mine)
    return members


def merge_saved_groups(members: List[list], optimizer,
                       state_dict: dict) -> Optional[dict]:
    """``load_state_dict`` pre-hook: an optimizer state saved with one
    param group per parameter (mmprelu before groups were merged) is
    rearranged into the merged groups; other states pass unchanged."""
    saved = state_dict['param_groups']
    if (len(saved) == len(members)
            or len(saved) != sum(len(ids) for ids in members)
            or any(len(g['params']) != 1 for g in saved)):
        return None  # current layout, or torch reports the mismatch
    groups = []
    for ids in members:
        settings = {k: v for k, v in saved[ids[0]].items() if k != 'params'}
        for i in ids[1:]:
            other = {k: v for k, v in saved[i].items() if k != 'params'}
            if other.keys() != settings.keys() or not all(
                    _same(other[k], settings[k]) for k in settings):
                raise ValueError(
                    f'optimizer state: saved param groups {ids[0]} and {i} '
                    f'have different settings ({settings} vs {other}) but '
                    'this config puts their parameters in one group; '
                    'resume with the config the checkpoint was trained with')
        groups.append(
            dict(settings, params=[saved[i]['params'][0] for i in ids]))
    return dict(state_dict, param_groups=groups)
