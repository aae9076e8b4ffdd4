"""Data and checkpoints of the segmentation tests."""
import pytest

from seg_helpers import load_converter, write_cls_checkpoint

#: Longer side of the photographs in the tests (the converter's default is
#: 320): 13 val images of 11 shapes, portrait and landscape, 6 grey.
MAX_SIDE = 160


@pytest.fixture(scope='session')
def seg_photos(tmp_path_factory):
    """The photo set with brightness masks in mmseg's layout."""
    root = tmp_path_factory.mktemp('photos_seg')
    load_converter().convert(root, max_side=MAX_SIDE)
    return root


@pytest.fixture(scope='session')
def cls_checkpoint(tmp_path_factory):
    """(path, backbone state dict) of :func:`write_cls_checkpoint`."""
    path = tmp_path_factory.mktemp('cls') / 'epoch_24.pth'
    return path, write_cls_checkpoint(path)
