from .checkpoint import load_checkpoint_safely  # noqa: F401
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from . import hooks, optimizers

__all__ = ['load_checkpoint_safely'] + hooks.__all__ + optimizers.__all__
