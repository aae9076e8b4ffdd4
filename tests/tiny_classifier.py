"""The tiny SPP classifier shared by the classifier, dense-test and
test-time-model tests: model A's layout (7x7/2 conv1, two 3x3 stages with
2x2 pools) at 8-16 channels, and mixed-shape batches padded as mmpretrain's
data preprocessor pads them."""
import torch
from mmpretrain.structures import DataSample

TINY = dict(
    channels=(8, 16, 16),
    depths=(1, 1, 1),
    kernel_sizes=(7, 3, 3),
    strides=(2, 1, 1),
    pools=(None, (2, 2), (2, 2)))


def classifier_cfg(
        act_cfg=dict(type='PReLU'),
        levels=(7, 3, 2, 1),
        mode='sppnet',
        cls='PReLUNetClassifier') -> dict:
    """The config of a ``cls`` with TINY's trunk, an SPP neck of ``levels``
    and a 24-24-10 head."""
    return dict(
        type=cls,
        backbone=dict(type='PReLUNet', arch=TINY, act_cfg=act_cfg),
        neck=dict(type='SpatialPyramidPooling', levels=levels, mode=mode),
        head=dict(
            type='PReLUNetHead',
            num_classes=10,
            in_channels=16 * sum(n * n for n in levels),
            mid_channels=(24, 24),
            act_cfg=act_cfg,
            # scores far from uniform: differences show
            init_cfg=dict(type='Normal', layer='Linear', std=0.1)))


def padded_batch(sizes, seed=0):
    """Images of ``sizes`` padded into one batch as the data preprocessor
    does (zeros bottom/right), with their samples' img_shape."""
    gen = torch.Generator().manual_seed(seed)
    imgs = [torch.randn(3, *s, generator=gen) for s in sizes]
    height, width = max(s[0] for s in sizes), max(s[1] for s in sizes)
    batch = torch.zeros(len(sizes), 3, height, width)
    for i, img in enumerate(imgs):
        batch[i, :, :img.shape[1], :img.shape[2]] = img
    samples = [DataSample(metainfo=dict(img_shape=s)) for s in sizes]
    return imgs, batch, samples
