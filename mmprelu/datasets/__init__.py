from .transforms import *  # noqa: F401,F403
from . import transforms

__all__ = transforms.__all__
