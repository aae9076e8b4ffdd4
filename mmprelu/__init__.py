"""mmprelu: He et al. 2015, *Delving Deep into Rectifiers*, for OpenMMLab.

``import mmprelu`` registers every module into mmpretrain's registries and
exports the public classes here, so that downstream configs can name them as
``type='mmprelu.PReLUNet'`` as well as ``type='mmpretrain.PReLUNet'``.

It first checks the environment (:func:`mmprelu.compat.check_environment`,
a pure check): outside the tested Python / torch / numpy / OpenMMLab
versions it warns once, naming the versions found and tested, and goes on
(docs/environments.md).

Model-hub names are registered on request
(``mmprelu.apis.register_models()``, see :mod:`mmprelu.apis.model_hub`);
the bad-image counter of ``LoadImageSafely`` is created when an
``ignore_empty=True`` loader is built. ``tests/test_import.py`` checks that a
fresh ``import mmprelu`` changes nothing but the registries.
"""
from .compat import check_environment
from .version import __version__, version_info  # noqa: F401

check_environment()

from . import apis, compat, datasets, engine, models  # noqa: E402,F401
from .apis import *  # noqa: E402,F401,F403
from .datasets import *  # noqa: E402,F401,F403
from .engine import *  # noqa: E402,F401,F403
from .models import *  # noqa: E402,F401,F403

__all__ = ['__version__', 'version_info'] + (
    apis.__all__ + datasets.__all__ + engine.__all__ + models.__all__)
