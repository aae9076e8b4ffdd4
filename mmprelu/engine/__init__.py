from . import hooks, optimizers
from .checkpoint import load_checkpoint_safely  # noqa: F401
from .checkpoint_loaders import enable_safe_checkpoint_loading  # noqa: F401
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403

__all__ = ['load_checkpoint_safely', 'enable_safe_checkpoint_loading'] + \
    hooks.__all__ + optimizers.__all__
