"""Import this module to switch mmengine's checkpoint loading to mmprelu's
weights-only policy (:func:`mmprelu.engine.enable_safe_checkpoint_loading`,
see :mod:`mmprelu.engine.checkpoint`).

It exists so that a config can switch the policy on by naming it, the
OpenMMLab way, and so that ``import mmprelu`` itself changes nothing::

    custom_imports = dict(
        imports=['mmprelu', 'mmprelu.engine.safe_loading'],
        allow_failed_imports=False)

Every mmprelu config does this through ``_base_/default_runtime.py``. Code
that builds no config calls ``enable_safe_checkpoint_loading()`` instead.
"""
from .checkpoint_loaders import enable_safe_checkpoint_loading

enable_safe_checkpoint_loading()
