"""mmprelu's models in mmpretrain's model hub, registered on request.

``import mmprelu`` only registers modules. Our model index
(``model-index.yml`` + ``configs/metafile.yml``) joins mmpretrain's
``ModelHub`` through its own ``ModelHub.register_model_index``

* by one explicit line, after which mmpretrain's ``list_models``,
  ``get_model`` and ``inference_model`` know our names::

      from mmprelu.apis import register_models
      register_models()

* or on first use of :func:`get_model`, :func:`list_models` and
  :func:`inference_model` (mmpretrain's, with that line first).

The index is found by :func:`find_model_index`; its config paths are
relative to the folder holding it (mmpretrain's ``config_prefix``).
"""
from pathlib import Path
from typing import List, Optional, Tuple

__all__ = [
    'register_models', 'find_model_index', 'ModelHubError', 'MODEL_INDEX',
    'get_model', 'list_models', 'inference_model'
]

#: File name of the index, as in every OpenMMLab package.
MODEL_INDEX = 'model-index.yml'

_registered: Optional[List[str]] = None


class ModelHubError(RuntimeError):
    """The model index cannot be found or registered."""


def find_model_index(package_dir=None) -> Tuple[Path, Path]:
    """Return ``(index_file, config_prefix)`` of mmprelu's model index,
    first found of

    1. ``<package>/.mim/model-index.yml`` with ``<package>/.mim/configs``:
       what ``pip install .`` ships (copies) and ``pip install -e .`` links;
    2. the repository root above the package, when it holds
       ``model-index.yml`` and ``configs/``: a source checkout without a
       ``.mim`` folder.

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


def register_models(package_dir=None) -> List[str]:
    """Register mmprelu's model index with mmpretrain's ModelHub (once per
    process) and return the registered model names (lower case, as the hub
    keys them).

    Raises:
        ModelHubError: no index found, or mmpretrain's hub refused it (a
            changed hub API, or a name already taken by another package:
            the hub's message names it).
    """
    global _registered
    if _registered is None:
        index, prefix = find_model_index(package_dir)
        try:
            from mmpretrain.apis import ModelHub
            ModelHub.register_model_index(index, config_prefix=prefix)
            # the names, read as the hub read them (the modelindex package)
            from modelindex.load_model_index import load
            models = load(str(index))
            models.build_models_with_collections()
        except Exception as err:  # say which file, and why
            raise ModelHubError(
                f'mmprelu: mmpretrain\'s ModelHub could not register {index} '
                f'({type(err).__name__}: {err})') from err
        _registered = sorted(m.name.lower() for m in models.models)
    return list(_registered)


def get_model(*args, **kwargs):
    """:func:`register_models`, then ``mmpretrain.get_model`` (same
    arguments): ``get_model('prelu-net-c_8xb16_in1k')``."""
    register_models()
    from mmpretrain.apis import get_model as mmpretrain_get_model
    return mmpretrain_get_model(*args, **kwargs)


def list_models(*args, **kwargs) -> List[str]:
    """:func:`register_models`, then ``mmpretrain.list_models`` (same
    arguments; mmpretrain's models are listed too): ``list_models('prelu')``.
    """
    register_models()
    from mmpretrain.apis import list_models as mmpretrain_list_models
    return mmpretrain_list_models(*args, **kwargs)


def inference_model(*args, **kwargs):
    """:func:`register_models`, then ``mmpretrain.inference_model`` (same
    arguments; the model may be one of our names)."""
    register_models()
    from mmpretrain.apis import inference_model as mmpretrain_inference
    return mmpretrain_inference(*args, **kwargs)
