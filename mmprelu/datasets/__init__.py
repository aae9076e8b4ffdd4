from . import samplers, transforms
from .samplers import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403

__all__ = samplers.__all__ + transforms.__all__
