"""The paper-style layer table of the PReLU-nets
(mmprelu/models/backbones/prelu_net_archs.py)."""
import pytest

from mmprelu.models.backbones.prelu_net import PReLUNet
from mmprelu.models.backbones.prelu_net_archs import (ARCH_KEYS, ARCHS, Conv,
                                                      Pool, arch_from_layers)

# conv layers = depth - 3 fc (Table 3: 19/22/22; Table 1: 14; Fig. 3: 30)
CONVS = {'a': 16, 'b': 19, 'c': 19, '14': 11, '30': 27}


@pytest.mark.parametrize('name', sorted(ARCHS))
def test_table_entries_match_the_paper_depths(name):
    layers = ARCHS[name]
    assert sum(layer.n for layer in layers if isinstance(layer, Conv)) == \
        CONVS[name]
    assert layers[0] == Conv(7, 64 if name in ('14', '30') else 96, stride=2)
    assert PReLUNet.parse_arch(name) == arch_from_layers(layers)


def test_arch_from_layers_stages():
    arch = arch_from_layers(
        (Conv(7, 8, stride=2), Pool(2, 2), Conv(3, 16,
                                                2), Pool(3, 3), Conv(3, 32)))
    assert set(arch) == set(ARCH_KEYS)
    assert arch == dict(
        channels=(8, 16, 32),
        depths=(1, 2, 1),
        kernel_sizes=(7, 3, 3),
        strides=(2, 1, 1),
        pools=(None, (2, 2), (3, 3)))
    # a pool may open the first stage too
    assert arch_from_layers((Pool(2, 2), Conv(3, 8)))['pools'] == ((2, 2), )


@pytest.mark.parametrize('layers,match', [
    ((Conv(3, 8), Pool(2, 2), Pool(2, 2), Conv(3, 8)), 'two pools'),
    ((Conv(3, 8), Pool(2, 2)), 'after the last conv'),
])
def test_arch_from_layers_errors(layers, match):
    with pytest.raises(ValueError, match=match):
        arch_from_layers(layers)
