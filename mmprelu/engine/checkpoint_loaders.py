"""mmengine's checkpoint loading through mmprelu's weights-only policy
(:mod:`mmprelu.engine.checkpoint`): the loader functions mmengine calls and
the explicit switch that installs them. Importing this module changes
nothing; :mod:`mmprelu.engine.safe_loading` (named in every mmprelu
config's ``custom_imports``) calls :func:`enable_safe_checkpoint_loading`.

It registers :func:`load_from_local_safely` as mmengine's loader for local
paths (``CheckpointLoader`` prefix ``''``: ``Runner.resume``,
``Runner.load_checkpoint`` in ``tools/test.py``,
``init_cfg=dict(type='Pretrained')``) and replaces
``mmengine.runner.checkpoint.load_url`` -- ``torch.hub``'s loader, whose
default is ``weights_only=False`` -- so that ``http(s)://``,
``torchvision://``, ``open-mmlab://`` and ``mmcls://`` downloads obey the
same policy. ``pavi://``/``s3://`` and ``open-mmlab://`` local files keep
``torch.load``'s weights-only default: left alone, they fail closed.
"""
import os
import os.path as osp
import zipfile
from urllib.parse import urlparse

import mmengine.runner.checkpoint as mm_ckpt
import torch
from mmengine.runner import CheckpointLoader

from .checkpoint import _load_file, load_checkpoint_safely

__all__ = [
    'load_from_local_safely', 'load_url_safely',
    'enable_safe_checkpoint_loading'
]


def load_from_local_safely(filename, map_location=None):
    """mmengine ``CheckpointLoader`` entry for local paths (its log line reads
    ``Loads checkpoint by local_safely backend``)."""
    return load_checkpoint_safely(filename, map_location)


def load_url_safely(url,
                    model_dir=None,
                    map_location=None,
                    progress=True,
                    check_hash=False,
                    file_name=None):
    """Drop-in for ``mmengine.utils.dl_utils.load_url``: downloads into
    ``torch.hub``'s cache as ``torch.hub.load_state_dict_from_url`` does
    (same folder and file name, so the caches are shared; ``check_hash``
    checks the hash prefix in the file name) and loads the file with
    :func:`load_checkpoint_safely`. (torch.hub's own loader cannot take
    our allowlist on torch < 2.5.) A legacy zip (one file zipped, torch <
    1.6's published format) is unpacked beside it first, as torch.hub
    does."""
    folder = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(folder, exist_ok=True)
    name = file_name or osp.basename(urlparse(url).path)
    cached = osp.join(folder, name)
    if not osp.exists(cached):
        digest = None
        if check_hash:
            match = torch.hub.HASH_REGEX.search(name)
            digest = match.group(1) if match else None
        torch.hub.download_url_to_file(url, cached, digest, progress=progress)
    source = f'{url} (cached as {cached})'
    return _load_file(
        _unzip_legacy(cached, folder) or cached, map_location, source)


def _unzip_legacy(path, folder):
    """The file a legacy zip checkpoint holds, extracted into ``folder``;
    None for any other file (a ``torch.save`` zip holds several)."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) != 1 or members[0].is_dir():
            return None
        # extract() drops absolute and '..' parts of the member's name
        return archive.extract(members[0], folder)


def enable_safe_checkpoint_loading():
    """Make mmengine load local files and URLs through
    :func:`load_checkpoint_safely`, process-wide (idempotent). This is the
    one global change mmprelu makes, and only when asked: by this call or by
    ``custom_imports=dict(imports=['mmprelu.engine.safe_loading'])``."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_safely, force=True)
    mm_ckpt.load_url = load_url_safely
