"""Session fixtures shared by the test folders."""
from pathlib import Path

import pytest

from mmprelu.engine import enable_safe_checkpoint_loading
from docs_checks import load_tool
from wheel_install import Installed, install_wheel

# Every mmprelu config switches mmengine's checkpoint loading to our
# weights-only policy (custom_imports 'mmprelu.engine.safe_loading'); in
# this process the first config read would do it, so the outcome of a test
# would depend on the order. Switched on once, here. That importing mmprelu
# alone does not, and that a config does, is checked in fresh processes
# (tests/test_import.py).
enable_safe_checkpoint_loading()

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='session')
def photos(tmp_path_factory):
    """scikit-image's embedded photographs as a tiny ImageNet-layout set
    (tools/dataset_converters/skimage2imagenet.py): 39 train and 13 val
    images of mixed sizes, orientations and formats (colour and grey JPEG,
    colour, grey and RGBA PNG). Returns the root folder."""
    root = tmp_path_factory.mktemp('photos')
    load_tool('dataset_converters/skimage2imagenet.py').convert(root)
    return root


@pytest.fixture(scope='session')
def photo_tensor(photos):
    """``photo_tensor(name, short)``: val photograph ``name`` (a file under
    ``photos/val``) read as BGR by OpenCV, resized (its own aspect ratio)
    to shorter side ``short``, as a (1, 3, h, w) float tensor of 0..255."""
    import cv2
    import torch

    def read(name: str, short: int):
        img = cv2.imread(str(photos / 'val' / name), cv2.IMREAD_COLOR)
        assert img is not None, name
        height, width = img.shape[:2]
        scale = short / min(height, width)
        size = (round(width * scale), round(height * scale))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        return torch.from_numpy(img).permute(2, 0, 1)[None].float()

    return read


@pytest.fixture(scope='session')
def installed_wheel(tmp_path_factory) -> Installed:
    """mmprelu installed from its wheel outside the repository
    (tests/wheel_install.py), built once per session."""
    return install_wheel(tmp_path_factory.mktemp('wheel'))
