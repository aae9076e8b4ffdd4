"""Optimizer constructor that keeps weight decay off PReLU slopes (§2.1)."""
from typing import List, Optional, Sequence, Union

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor

from mmprelu.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS


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
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        self.slope_decay_mult = float(
            paramwise_cfg.pop('slope_decay_mult', 0.))
        self.slope_module_types = self._resolve_types(
            paramwise_cfg.pop('slope_module_types', [nn.PReLU]))
        # A non-empty paramwise_cfg makes the default constructor build one
        # param group per parameter (``add_params``), where we hook in.
        paramwise_cfg.setdefault('custom_keys', {})
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    @staticmethod
    def _resolve_types(types: Sequence[Union[str, type]]) -> tuple:
        resolved = []
        for t in types:
            cls = MODELS.get(t) if isinstance(t, str) else t
            if not isinstance(cls, type) or not issubclass(cls, nn.Module):
                raise ValueError(
                    f'paramwise_cfg.slope_module_types: {t!r} is not a '
                    f'registered nn.Module type (e.g. "PReLU")')
            resolved.append(cls)
        return tuple(resolved)

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

    def __call__(self, model: nn.Module):
        optim_wrapper = super().__call__(model)
        # mmengine hands the groups to the optimizer inside its config, so
        # they arrive as ConfigDicts, which torch.compile (Dynamo, torch
        # 2.14) cannot trace in optimizer.step(); plain dicts behave the same
        groups = optim_wrapper.optimizer.param_groups
        for i, group in enumerate(groups):
            groups[i] = {key: value for key, value in group.items()}
        return optim_wrapper
