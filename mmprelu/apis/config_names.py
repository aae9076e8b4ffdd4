"""Names of mmprelu's configs for downstream projects.

Every config exists in two forms with one source of truth:

* the text config ``configs/<path>.py`` (the paper's entry points, e.g.
  ``configs/prelu_net_c_8xb16.py``), inherited downstream as
  ``_base_ = ['mmprelu::<path>.py']`` (see :mod:`.config_loader`);
* the new-style (pure Python) module ``mmprelu.configs.<module>``,
  generated from it by ``tools/misc/generate_package_configs.py``:
  :func:`module_name` maps the path (``/`` -> ``.``, ``-`` -> ``_``, no
  ``.py``), so ``det/faster-rcnn_prelu-net-a_fpn_1x_coco.py`` is
  ``mmprelu.configs.det.faster_rcnn_prelu_net_a_fpn_1x_coco``.

The text configs are found where :func:`~.model_hub.find_model_index`
finds the model index: ``<package>/.mim/configs`` (``pip install .``
copies them there, ``pip install -e .`` links them), else ``configs/``
beside the package in a source checkout.
"""
import difflib
import keyword
from pathlib import Path, PurePosixPath
from typing import List

from .model_hub import ModelHubError, find_model_index

__all__ = [
    'PREFIX', 'ConfigNameError', 'config_root', 'config_names', 'module_name',
    'resolve_config'
]

#: What a text config's ``_base_`` entry starts with to name our configs.
PREFIX = 'mmprelu::'


class ConfigNameError(FileNotFoundError):
    """An ``mmprelu::`` name that is no config of the installed mmprelu."""


def config_root() -> Path:
    """The folder holding the installed mmprelu's text configs."""
    try:
        return find_model_index()[1] / 'configs'
    except ModelHubError as err:
        raise ConfigNameError(
            f'mmprelu: the text configs (for `{PREFIX}` bases) are not '
            f'installed: {err}') from err


def config_names(root=None) -> List[str]:
    """Paths (relative, ``/``-separated) of every text config under
    ``root`` (default :func:`config_root`), sorted."""
    root = Path(root or config_root())
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob('*.py')
        if '__pycache__' not in p.parts)


def module_name(path: str, package: str = 'mmprelu.configs') -> str:
    """The new-style module of the text config ``path`` (relative to
    ``configs/``), e.g. ``'det/faster-rcnn_prelu-net-a_fpn_1x_coco.py'`` ->
    ``'mmprelu.configs.det.faster_rcnn_prelu_net_a_fpn_1x_coco'``.

    Raises:
        ValueError: a part of the path is no Python name after the mapping.
    """
    parts = list(PurePosixPath(path).with_suffix('').parts)
    names = [p.replace('-', '_') for p in parts]
    bad = [
        p for p, n in zip(parts, names)
        if not n.isidentifier() or keyword.iskeyword(n)
    ]
    if bad or not path.endswith('.py'):
        raise ValueError(
            f'config {path!r}: no new-style module name for it ({bad or path} '
            f'must become Python names with "-" read as "_"; rename the '
            f'file or folder)')
    return '.'.join([package] + names)


def resolve_config(name: str, root=None) -> Path:
    """The file of the text config ``name`` (with or without the
    ``mmprelu::`` prefix), e.g. ``'prelu_net_c_8xb16.py'`` or
    ``'det/faster-rcnn_prelu-net-a_fpn_1x_coco.py'``.

    Raises:
        ConfigNameError: no such config; the message lists the nearest
            valid names.
    """
    rel = name[len(PREFIX):] if name.startswith(PREFIX) else name
    root = Path(root or config_root())
    path = root / rel
    parts = PurePosixPath(rel).parts
    if rel.endswith('.py') and '..' not in parts and path.is_file():
        return path
    names = config_names(root)
    key = rel if rel.endswith('.py') else rel + '.py'
    near = difflib.get_close_matches(key, names, n=5, cutoff=0.5)
    if not near:  # compare file names when the folder is the problem
        files = difflib.get_close_matches(
            PurePosixPath(key).name, {PurePosixPath(n).name
                                      for n in names},
            n=5,
            cutoff=0.5)
        near = [n for f in files for n in names
                if PurePosixPath(n).name == f][:5]
    hint = (f'nearest: {", ".join(PREFIX + n for n in near)}'
            if near else f'valid names are the files under {root}, e.g. '
            f'{PREFIX}prelu_net_c_8xb16.py')
    raise ConfigNameError(
        f'{PREFIX}{rel}: no such mmprelu config ({len(names)} configs under '
        f'{root}); {hint}')
