"""The architectures of the PReLU-nets (He et al. 2015, Table 1, Table 3,
Fig. 3), written layer by layer as the paper's tables list them.

:data:`ARCHS` holds one literal entry per model; :func:`arch_from_layers`
turns an entry into the per-stage dict (:data:`ARCH_KEYS`) that
:class:`~mmprelu.models.backbones.PReLUNet` builds from (and that a custom
``arch=dict(...)`` gives directly). :func:`output_strides` gives the dilated
("atrous") variants of any arch for dense prediction.
"""
import math
from typing import Dict, NamedTuple, Sequence, Tuple, Union

__all__ = [
    'ARCH_KEYS', 'ARCHS', 'Conv', 'Pool', 'arch_from_layers', 'output_strides'
]

#: Per-stage keys of an arch; stage 0 is conv1 (the "stem").
ARCH_KEYS = ('channels', 'depths', 'kernel_sizes', 'strides', 'pools')


class Conv(NamedTuple):
    """``n`` conv layers ``kernel x kernel, channels``, the first with
    ``stride`` (Table 3's "3x3, 256 x5", "7x7, 96, /2")."""
    kernel: int
    channels: int
    n: int = 1
    stride: int = 1


class Pool(NamedTuple):
    """A max pool ``kernel x kernel, /stride`` (Table 3's "2x2 maxpool,
    /2"); it opens the next stage."""
    kernel: int
    stride: int


#: The built-in archs, layer by layer as in the paper's tables (map sides
#: for a 224 input). A stage is an optional Pool and the Conv after it.
ARCHS: Dict[str, Tuple[Union[Conv, Pool], ...]] = {
    # Table 3, model A (19 layers with SPP {7, 3, 2, 1} and 3 fc)
    'a': (
        Conv(7, 96, stride=2),  # conv1 7x7, 96, /2    224 -> 112
        Pool(2, 2),  # 2x2 maxpool, /2      -> 56
        Conv(3, 256, 5),  # 3x3, 256 x5
        Pool(2, 2),  # 2x2 maxpool, /2      -> 28
        Conv(3, 512, 5),  # 3x3, 512 x5
        Pool(2, 2),  # 2x2 maxpool, /2      -> 14
        Conv(3, 512, 5)),  # 3x3, 512 x5
    # Table 3, model B (22 layers)
    'b': (Conv(7, 96, stride=2), Pool(2, 2), Conv(3, 256, 6), Pool(2, 2),
          Conv(3, 512, 6), Pool(2, 2), Conv(3, 512, 6)),
    # Table 3, model C (22 layers, wider)
    'c': (Conv(7, 96, stride=2), Pool(2, 2), Conv(3, 384, 6), Pool(2, 2),
          Conv(3, 768, 6), Pool(2, 2), Conv(3, 896, 6)),
    # Table 1, the 14-layer model (model E of He & Sun 2014; SPP
    # {6, 3, 2, 1} and 3 fc in neck and head)
    '14': (
        Conv(7, 64, stride=2),  # conv1 7x7, 64, /2  224 -> 112
        Pool(3, 3),  # pool1 3x3, /3      -> 37
        Conv(2, 128, 4),  # conv21-24 2x2, 128
        Pool(2, 2),  # pool2 2x2, /2      -> 18
        Conv(2, 256, 6)),  # conv31-36 2x2, 256
    # Fig. 3, the 30-layer model: Table 1 + 16 extra 2x2, 256 conv layers,
    # placed after conv36 (the paper does not say where)
    '30': (Conv(7, 64, stride=2), Pool(3, 3), Conv(2, 128, 4), Pool(2, 2),
           Conv(2, 256, 6 + 16)),
}


def arch_from_layers(layers: Sequence[Union[Conv, Pool]]) -> dict:
    """The per-stage arch dict (:data:`ARCH_KEYS`) of a layer list like
    those of :data:`ARCHS`: every Conv row is a stage, with the Pool row
    just before it (if any)."""
    arch = {key: [] for key in ARCH_KEYS}
    pool = None
    for layer in layers:
        if isinstance(layer, Pool):
            if pool is not None:
                raise ValueError(f'PReLUNet: two pools in a row in {layers}')
            pool = (layer.kernel, layer.stride)
            continue
        values = (layer.channels, layer.n, layer.kernel, layer.stride, pool)
        for key, value in zip(ARCH_KEYS, values):
            arch[key].append(value)
        pool = None
    if pool is not None:
        raise ValueError(f'PReLUNet: a pool after the last conv in {layers}')
    return {key: tuple(values) for key, values in arch.items()}


def output_strides(arch: dict) -> Dict[int, Tuple[int, ...]]:
    """The output strides an arch can run at, each with its per-stage
    dilations: ``{output_stride: dilations}``.

    The paper's trunks end at stride 16 (Table 3) or 12 (Table 1); dense
    prediction heads (DeepLab, FCN-d8) want 8. As for the dilated ResNets
    of mmseg (``ResNetV1c`` with ``strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4)``), the last stages stop downsampling and
    dilate their convs by the stride they dropped, so the weights keep
    their receptive field: a stage's pool keeps its window, runs at stride
    1 and is dilated by the rate of its input. Where the two maps share a
    position, the dilated trunk computes exactly what the native one does,
    so a classification checkpoint loads and means the same (the paper is
    silent; this is DeepLab's "atrous" trunk, Chen et al. 2015). conv1
    (the stem) always keeps its stride.

    The table for the built-in archs, per stage (conv1, stages 1-3)::

        A, B, C   16 (paper)   dilations 1 1 1 1
                   8           dilations 1 1 1 2   pool 3 at /1
                   4           dilations 1 1 2 4   pools 2-3 at /1
                   2           dilations 1 2 4 8   pools 1-3 at /1
        14, 30    12 (paper)   dilations 1 1 1
                   6           dilations 1 1 2     pool 2 at /1
                   2           dilations 1 3 6     pools 1-2 at /1
    """
    factors = [(pool[1] if pool else 1) * stride
               for pool, stride in zip(arch['pools'], arch['strides'])]
    table = {math.prod(factors): (1, ) * len(factors)}
    for first in range(len(factors) - 1, 0, -1):  # stages first.. dense
        if factors[first] > 1:
            table[math.prod(factors[:first])] = tuple(
                math.prod(factors[first:i + 1]) if i >= first else 1
                for i in range(len(factors)))
    return table
