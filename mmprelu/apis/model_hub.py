"""mmprelu's models in mmpretrain's model hub, registered on request.

``import mmprelu`` does not touch mmpretrain's :class:`~mmpretrain.apis.
ModelHub` (importing only registers modules, issue 15). The model index
(``model-index.yml`` + ``configs/metafile.yml``: ``prelu-net-c_8xb16_in1k``
and the others) is registered

* by one explicit line, after which mmpretrain's own ``list_models``,
  ``get_model`` and ``inference_model`` know our names::

      from mmprelu.apis import register_models
      register_models()

* or on first use of our thin wrappers :func:`get_model`,
  :func:`list_models` and :func:`inference_model` (same arguments as
  mmpretrain's), which register and then call mmpretrain's function.

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
is asked for), once per process. Only public hub API is used
(``ModelHub.register_model_index`` and ``ModelHub.has``, mmpretrain 1.x);
if it is missing, :func:`register_models` raises :class:`ModelHubError`
saying what is missing -- training and testing do not need the hub.
"""
from pathlib import Path
from typing import List, Optional, Tuple

__all__ = ['register_models', 'find_model_index', 'ModelHubError',
           'MODEL_INDEX', 'get_model', 'list_models', 'inference_model']

#: File name of the index, as in every OpenMMLab package.
MODEL_INDEX = 'model-index.yml'
#: The ModelHub class methods we use (mmpretrain 1.0-1.2).
HUB_API = ('register_model_index', 'has')

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
    missing = [name for name in HUB_API if not hasattr(ModelHub, name)]
    if missing:
        import mmpretrain
        raise ModelHubError(
            f'mmprelu: mmpretrain {mmpretrain.__version__} ModelHub has no '
            f'{missing} (known API: mmpretrain 1.0-1.2); mmprelu models '
            f'cannot be registered by name. Build them from a config file '
            f'instead: mmpretrain.get_model("configs/<config>.py").')
    return ModelHub


def _index_names(index: Path) -> List[str]:
    """Model names of ``index`` as the hub keys them (lower case), read
    with the ``modelindex`` package that mmpretrain's hub uses."""
    from modelindex.load_model_index import load
    model_index = load(str(index))
    model_index.build_models_with_collections()
    return sorted(m.name.lower() for m in model_index.models)


def register_models(package_dir=None) -> List[str]:
    """Register mmprelu's model index with mmpretrain's ModelHub (once per
    process) and return the registered model names.

    After this call ``mmpretrain.get_model('prelu-net-c_8xb16_in1k')`` (and
    ``list_models`` / ``inference_model``) know mmprelu's models.

    Raises:
        ModelHubError: no index found, the hub API changed, or a name is
            already taken by another package.
    """
    global _registered
    if _registered is not None:
        return list(_registered)
    hub = _hub()
    index, prefix = find_model_index(package_dir)
    try:
        names = _index_names(index)
    except Exception as err:  # a changed index format: say which file
        raise ModelHubError(
            f'mmprelu: cannot read the model index {index} '
            f'({type(err).__name__}: {err})') from err
    taken = [name for name in names if hub.has(name)]
    if taken:
        raise ModelHubError(
            f'mmprelu: registering {index} failed: the names {taken} are '
            f'already in mmpretrain\'s ModelHub (another package uses them)')
    try:
        hub.register_model_index(index, config_prefix=prefix)
    except Exception as err:  # a changed hub: say which file and why
        raise ModelHubError(
            f'mmprelu: mmpretrain ModelHub could not register {index} '
            f'({type(err).__name__}: {err})') from err
    missing = [name for name in names if not hub.has(name)]
    if missing:
        raise ModelHubError(
            f'mmprelu: mmpretrain ModelHub did not register {missing} from '
            f'{index}')
    _registered = names
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
