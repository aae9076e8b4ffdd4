"""What the segmentation tests share: the mmseg check, the photo set's
converter, a classification checkpoint of the digits demo's model and the
shrinking of the full-size configs to its trunk."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.registry import DefaultScope

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / 'configs/seg/fcn_prelu-net-tiny-d4_1xb8-200it_photos-128x128.py'
CONVERTER = ROOT / 'tools' / 'dataset_converters' / 'skimage2seg.py'
DIGITS = ROOT / 'configs' / 'prelu_net_tiny_1xb64_digits.py'
HEADS = ('decode_head', 'auxiliary_head')


def require_mmseg() -> None:
    """Skip the calling test module, with the reason, without mmseg."""
    try:
        import mmseg.models  # noqa: F401
    except ImportError as err:
        pytest.skip(
            f'mmsegmentation is not installed ({err}): it needs '
            f'full mmcv < 2.2, which tools/setup_env.sh installs '
            f'with it on the full-mmcv stacks (DEVELOPERS.md); '
            f'segmentation untested',
            allow_module_level=True)
    except AssertionError as err:  # mmseg's own check of the mmcv version
        pytest.skip(
            f'mmsegmentation refuses this mmcv ({err}); '
            f'segmentation untested',
            allow_module_level=True)


def load_converter():
    """tools/dataset_converters/skimage2seg.py as a module (tools/ is no
    package: its folder goes on sys.path, as when it runs as a script)."""
    sys.path.insert(0, str(CONVERTER.parent))
    spec = importlib.util.spec_from_file_location('skimage2seg', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_cls_checkpoint(path: Path, seed: int = 0) -> dict:
    """A checkpoint of the digits demo's classifier
    (configs/prelu_net_tiny_1xb64_digits.py: the tiny segmentation config's
    trunk, SPP neck and fc head) as our tools save it
    (WeightsOnlyCheckpointHook: plain types, marker dicts for the message
    hub's buffers), slopes moved off their 0.25 init as after training.
    Returns the backbone's state dict without the prefix."""
    from mmprelu.engine.hooks.checkpoint_hook import to_plain_types
    from mmprelu.registry import MODELS
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(Config.fromfile(DIGITS).model)
    model.init_weights()
    with torch.no_grad():
        for module in model.backbone.modules():
            if isinstance(module, torch.nn.PReLU):
                module.weight.add_(torch.rand_like(module.weight) * 0.1)
    state = model.state_dict()
    assert any(k.startswith('head.') for k in state)  # the fc layers
    checkpoint = to_plain_types(
        dict(
            meta=dict(epoch=24, iter=144, mmpretrain_version='1.2.0'),
            state_dict=state,
            message_hub=dict(
                log_scalars={
                    'train/loss':
                    HistoryBuffer(np.array([2.0, 1.5]), np.array([1, 1]))
                })))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    torch.load(path, weights_only=True)  # what torch >= 2.6 does by default
    return {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }


def shrink_to_digits_trunk(cfg, checkpoint):
    """A configs/seg ADE20K config on the tiny config's trunk (the digits
    demo's: stages of 16/32/64 filters at strides 2/4/8), one stage and one
    stride step lower (stage 3 at 8 -> stage 2 at 4), heads 16 wide for 3
    classes with BN, initialised from ``checkpoint``."""
    import mmprelu
    arch = Config.fromfile(TINY).model.backbone.arch
    backbone = cfg.model.backbone
    backbone.arch = arch
    backbone.init_cfg.checkpoint = str(checkpoint)
    backbone.out_indices = tuple(i - 1 for i in backbone.out_indices)
    backbone.output_stride //= 2
    channels = [
        mmprelu.PReLUNet(arch).out_channels[i] for i in backbone.out_indices
    ]
    for name in HEADS:
        head = cfg.model[name]
        index = head.in_index
        head.in_channels = [channels[i] for i in index] if isinstance(
            index, (list, tuple)) else channels[index]
        head.update(
            channels=16,
            num_classes=3,
            norm_cfg=dict(type='BN', requires_grad=True))
    return cfg
