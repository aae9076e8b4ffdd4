from . import backbones, classifiers, converters, heads, necks, tta, utils
from .backbones import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .converters import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .tta import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403

__all__ = (
    backbones.__all__ + classifiers.__all__ + converters.__all__ +
    heads.__all__ + necks.__all__ + tta.__all__ + utils.__all__)
