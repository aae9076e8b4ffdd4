"""Registries used by mmprelu.

mmprelu registers every module into **mmpretrain's** registries, so any
mmpretrain tool or config (``default_scope='mmpretrain'``) can build our
modules by their bare names (``type='PReLUNet'``).

Downstream projects name a module with a scope prefix:

* ``type='mmpretrain.PReLUNet'`` resolves through the mmpretrain registry;
* ``type='mmprelu.PReLUNet'`` resolves through mmengine's fallback that
  imports ``mmprelu`` and reads the attribute ``PReLUNet`` from it, which
  is why :mod:`mmprelu` exports every public class at top level.

Weight initializers are also registered in mmengine's root registry: a model
built under another default scope (e.g. ``mmdet``) looks initializers up from
that scope, and only the root is shared by every scope.
"""
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmpretrain.registry import (DATA_SAMPLERS, DATASETS, HOOKS, METRICS,
                                 MODELS, OPTIM_WRAPPER_CONSTRUCTORS,
                                 OPTIMIZERS, PARAM_SCHEDULERS, TRANSFORMS,
                                 WEIGHT_INITIALIZERS)

__all__ = [
    'DATA_SAMPLERS', 'DATASETS', 'HOOKS', 'METRICS', 'MODELS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIMIZERS', 'PARAM_SCHEDULERS',
    'TRANSFORMS', 'WEIGHT_INITIALIZERS', 'MMENGINE_WEIGHT_INITIALIZERS'
]
