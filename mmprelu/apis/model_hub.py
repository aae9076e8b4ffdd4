"""mmprelu's models in mmpretrain's model hub.

``import mmprelu`` registers our ``model-index.yml`` with
:class:`mmpretrain.apis.ModelHub`, so that ``mmpretrain.list_models``,
``mmpretrain.get_model`` and ``mmpretrain.inference_model`` know the
PReLU-nets by name (``prelu-net-c_8xb16_in1k``; the list is in
``configs/metafile.yml``).

Where the index is found (:func:`find_model_index`), first match wins:

1. ``<package>/.mim/model-index.yml`` with ``<package>/.mim/configs``: what
   ``pip install .`` ships (``setup.py`` copies ``model-index.yml``,
   ``configs/`` and ``tools/`` there at build time) and what ``pip install
   -e .`` links (symlinks into the source tree);
2. the repository root (the folder above the package) when it holds
   ``model-index.yml`` and ``configs/``: a source checkout used without a
   ``.mim`` folder (``PYTHONPATH=.`` or an editable install made before the
   links existed).

The config paths of the index are relative to that folder (mmpretrain's
``config_prefix``), so configs keep their ``_base_`` folder beside them.

Registration parses one small YAML file (no config is read until a model
is asked for). It is done once per process. If the hub API of the installed
mmpretrain is not the one we know (``ModelHub.register_model_index``,
mmpretrain 1.x), importing mmprelu still works -- training and testing do
not need the hub -- with a warning; :func:`register_models` itself raises
:class:`ModelHubError` saying what is missing.
"""
import warnings
from pathlib import Path
from typing import List, Optional, Tuple

__all__ = ['register_models', 'find_model_index', 'ModelHubError',
           'MODEL_INDEX']

#: File name of the index, as in every OpenMMLab package.
MODEL_INDEX = 'model-index.yml'

_registered: Optional[List[str]] = None


class ModelHubError(RuntimeError):
    """The model index cannot be found or registered."""


def find_model_index(package_dir=None) -> Tuple[Path, Path]:
    """Return ``(index_file, config_prefix)`` of mmprelu's model index.

    Args:
        package_dir (str | Path, optional): the ``mmprelu`` package folder;
            defaults to the imported package.
    """
    pkg = Path(package_dir or Path(__file__).resolve().parents[1])
    tried = []
    for root in (pkg / '.mim', pkg.parent):
        index = root / MODEL_INDEX
        tried.append(str(index))
        if index.is_file() and (root / 'configs' / '_base_').is_dir():
            return index, root
    raise ModelHubError(
        f'mmprelu: no model index found (tried {tried}; each needs a '
        f'configs/_base_ folder beside it). Reinstall mmprelu with '
        f'`pip install .` or `pip install -e .` from a source checkout.')


def _hub():
    """mmpretrain's ModelHub, checked for the API we use."""
    try:
        from mmpretrain.apis import ModelHub
    except ImportError as err:
        raise ModelHubError(
            f'mmprelu: cannot import mmpretrain.apis.ModelHub ({err}); the '
            f'model hub needs mmpretrain 1.x') from err
    missing = [name for name in ('register_model_index', '_models_dict')
               if not hasattr(ModelHub, name)]
    if missing:
        import mmpretrain
        raise ModelHubError(
            f'mmprelu: mmpretrain {mmpretrain.__version__} ModelHub has no '
            f'{missing} (known API: mmpretrain 1.0-1.2); mmprelu models '
            f'cannot be registered by name. Build them from a config file '
            f'instead: mmpretrain.get_model("configs/<config>.py").')
    return ModelHub


def register_models(package_dir=None) -> List[str]:
    """Register mmprelu's model index with mmpretrain's ModelHub (once per
    process) and return the registered model names.

    Raises:
        ModelHubError: no index found, the hub API changed, or a name is
            already taken by another package.
    """
    global _registered
    if _registered is not None:
        return list(_registered)
    hub = _hub()
    index, prefix = find_model_index(package_dir)
    before = set(hub._models_dict)
    try:
        hub.register_model_index(index, config_prefix=prefix)
    except ValueError as err:
        raise ModelHubError(
            f'mmprelu: registering {index} failed: {err}') from err
    except Exception as err:  # a changed hub: say which file and why
        raise ModelHubError(
            f'mmprelu: mmpretrain ModelHub could not read {index} '
            f'({type(err).__name__}: {err})') from err
    _registered = sorted(set(hub._models_dict) - before)
    return list(_registered)


def register_on_import() -> None:
    """What ``import mmprelu`` calls: :func:`register_models`, turning a
    failure into a warning so that the rest of mmprelu stays usable."""
    try:
        register_models()
    except ModelHubError as err:
        warnings.warn(f'{err} (mmprelu models are not in '
                      f'mmpretrain.list_models)', stacklevel=2)
