"""PReLU-nets: the plain conv trunks of He et al. 2015 (Table 1, Table 3,
Fig. 3), as an mmpretrain backbone.
"""
import copy
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmpretrain.models.backbones.base_backbone import BaseBackbone

from mmprelu.registry import MODELS
from ..utils.activation import build_activation
from .prelu_net_archs import ARCH_KEYS, ARCHS, arch_from_layers, output_strides


class ConvAct(nn.Module):
    """One weight layer of a plain net: conv -> [norm] -> activation.

    Deliberately not mmcv's ``ConvModule``: its ``init_weights`` re-inits the
    conv after our ``MSRA`` init_cfg has run, and it gives a PReLU a single
    shared slope unless told the channel count.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 kernel_size,
                 stride,
                 act_cfg,
                 norm_cfg=None,
                 dilation=1):
        super().__init__()
        self.pad = None
        padding = dilation * (kernel_size // 2)
        if kernel_size % 2 == 0 and stride == 1:
            # Even kernels (the 2x2 convs of Table 1): 'same' padding, the
            # extra row/column on the bottom/right. The paper (and [10])
            # does not give the padding; this keeps every map size.
            before = dilation * ((kernel_size - 1) // 2)
            after = dilation * (kernel_size - 1) - before
            self.pad = nn.ZeroPad2d((before, after, before, after))
            padding = 0
        elif kernel_size % 2 == 0:
            raise ValueError(
                f'PReLUNet: an even kernel ({kernel_size}) needs stride 1, '
                f'got stride {stride}')
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=norm_cfg is None)
        self.norm = (
            build_norm_layer(norm_cfg, out_channels)[1]
            if norm_cfg is not None else None)
        self.act = build_activation(act_cfg, out_channels)

    def forward(self, x):
        if self.pad is not None:
            x = self.pad(x)
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        return self.act(x)


def dense_max_pool(kernel: int, dilation: int) -> nn.Sequential:
    """A ``kernel x kernel`` max pool at stride 1 that keeps the map size
    (padded with -inf on the bottom/right, as the stride-``kernel`` pool's
    windows start at the top-left), dilated by ``dilation``: the pool of a
    stage run without downsampling (:func:`output_strides`)."""
    extra = dilation * (kernel - 1)
    return nn.Sequential(
        nn.ConstantPad2d((0, extra, 0, extra), float('-inf')),
        nn.MaxPool2d(kernel, stride=1, dilation=dilation))


@MODELS.register_module()
class PReLUNet(BaseBackbone):
    """The PReLU-net conv trunk of He et al. 2015.

    The SPP layer and the fc layers live in
    :class:`~mmprelu.models.necks.SpatialPyramidPooling` and
    :class:`~mmprelu.models.heads.PReLUNetHead`.

    Built-in archs (``arch_settings``, built from the paper-style layer
    table :data:`~mmprelu.models.backbones.prelu_net_archs.ARCHS`):

    * ``'A'``, ``'B'``, ``'C'``: Table 3. At 224x224 the four stage outputs
      are 112, 56, 28 and 14 pixels (strides 2, 4, 8, 16).
    * ``'14'``: the 14-layer model of Table 1 (11 conv layers here; SPP
      {6, 3, 2, 1} and 3 fc layers come from neck and head). At 224x224 the
      stage outputs are 112, 37 and 18.
    * ``'30'``: the 30-layer model of Fig. 3 (27 conv + 3 fc): the 16 extra
      2x2, 256-filter conv layers are appended to the last (256-filter)
      stage of the 14-layer model, which then has 22 convs. The paper only
      says "16 extra"; placing them at the smallest map keeps the cost low.

    Where the paper is silent we chose: odd kernels pad ``k // 2`` (this
    reproduces Table 3's sizes), even kernels use 'same' padding, max pools
    use no padding and floor rounding, convs have biases (none if a norm
    layer is configured), and no normalisation layer by default.

    A custom arch is a dict with the keys of :data:`ARCH_KEYS`, one entry
    per stage: ``channels``, ``depths`` (convs per stage), ``kernel_sizes``,
    ``strides`` (of the first conv of the stage) and ``pools`` (a
    ``(kernel, stride)`` max pool before the stage, or ``None``).

    Args:
        arch (str | dict): ``'A'``, ``'B'``, ``'C'``, ``'14'``, ``'30'``
            (case-insensitive) or a custom arch dict.
        in_channels (int): Input channels. Defaults to 3.
        out_indices (Sequence[int]): Stages whose outputs are returned, as
            a tuple (negative indices count from the end). Defaults to
            ``(-1,)``; detection uses e.g. ``(1, 2, 3)``.
        frozen_stages (int): Stages ``0..frozen_stages`` are frozen (no
            gradients, eval mode). -1 (default) freezes nothing.
        act_cfg (dict): Activation after every conv; ``dict(type='PReLU')``
            (channel-wise, init 0.25; the default),
            ``dict(type='PReLU', channel_shared=True)`` or
            ``dict(type='ReLU')``.
        norm_cfg (dict, optional): Norm layer after every conv (not in the
            paper). Defaults to None.
        norm_eval (bool): Keep norm layers in eval mode while training.
        output_stride (int, optional): Not in the paper, for dense
            prediction: the last stages dilated instead of downsampled
            (e.g. 8 for A/B/C: stage 3 dilated by 2; the rule and table in
            :func:`.prelu_net_archs.output_strides`, the cost in
            docs/segmentation.md). None (default): the arch's own stride.
        init_cfg (dict | list[dict]): Defaults to MSRA Eq. (14)
            (``mode='fan_out'``) on every conv, slope-aware (Eq. 15).
    """

    #: name -> the per-stage arch dict of the paper's layer table ARCHS
    arch_settings: Dict[str, dict] = {
        name: arch_from_layers(layers)
        for name, layers in ARCHS.items()
    }

    def __init__(self,
                 arch: Union[str, dict] = 'A',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (-1, ),
                 frozen_stages: int = -1,
                 act_cfg: dict = dict(type='PReLU'),
                 norm_cfg: dict = None,
                 norm_eval: bool = False,
                 output_stride: Optional[int] = None,
                 init_cfg=dict(type='MSRA', mode='fan_out', layer='Conv2d')):
        super().__init__(init_cfg=init_cfg)
        self.arch = self.parse_arch(arch)
        num_stages = len(self.arch['channels'])
        choices = output_strides(self.arch)
        if output_stride is None:
            output_stride = max(choices)
        if output_stride not in choices:
            raise ValueError(
                f'PReLUNet: output_stride {output_stride!r} is not valid for '
                f'this arch; valid: None or one of {sorted(choices)}')
        self.dilations = choices[output_stride]  # of each stage's convs
        self.out_indices = self._check_indices(out_indices, num_stages)
        if not -1 <= frozen_stages < num_stages:
            raise ValueError(
                f'PReLUNet: frozen_stages must be in [-1, {num_stages - 1}] '
                f'for this arch, got {frozen_stages}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        self.stages = nn.ModuleList()
        channels, rate = in_channels, 1  # rate: dilation of the input map
        for i in range(num_stages):
            stage = nn.Sequential()
            # a dense stage: its pool and conv stride run at stride 1, and
            # dilate what follows by the stride they no longer apply
            dense = self.dilations[i] > rate
            pool = self.arch['pools'][i]
            if pool is not None and dense:
                stage.add_module('pool', dense_max_pool(pool[0], rate))
                rate *= pool[1]
            elif pool is not None:
                stage.add_module('pool', nn.MaxPool2d(pool[0], pool[1]))
            for j in range(self.arch['depths'][i]):
                out = self.arch['channels'][i]
                stride = self.arch['strides'][i] if j == 0 else 1
                stage.add_module(
                    f'conv{j + 1}',
                    ConvAct(
                        channels,
                        out,
                        self.arch['kernel_sizes'][i],
                        1 if dense else stride,
                        act_cfg,
                        norm_cfg,
                        dilation=rate))
                rate *= stride if dense else 1
                channels = out
            self.stages.append(stage)
        self._freeze_stages()

    @classmethod
    def parse_arch(cls, arch: Union[str, dict]) -> dict:
        """Return the validated arch dict for a name or a custom dict."""
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_settings:
                names = sorted(k.upper() for k in cls.arch_settings)
                raise ValueError(f'PReLUNet: unknown arch {arch!r}; valid '
                                 f'archs: {names} or a dict with keys '
                                 f'{ARCH_KEYS}')
            return copy.deepcopy(cls.arch_settings[key])
        if not isinstance(arch, dict):
            raise TypeError(f'PReLUNet: arch must be a str or dict, got '
                            f'{type(arch).__name__}')
        missing = [k for k in ARCH_KEYS if k not in arch]
        extra = [k for k in arch if k not in ARCH_KEYS]
        if missing or extra:
            raise ValueError(f'PReLUNet: custom arch needs exactly the keys '
                             f'{ARCH_KEYS}; missing {missing}, unknown '
                             f'{extra}')
        lengths = {k: len(arch[k]) for k in ARCH_KEYS}
        if len(set(lengths.values())) != 1 or not lengths['channels']:
            raise ValueError(f'PReLUNet: custom arch entries must have one '
                             f'value per stage (same non-zero length), got '
                             f'lengths {lengths}')
        for key in ('channels', 'depths', 'kernel_sizes', 'strides'):
            bad = [v for v in arch[key] if not isinstance(v, int) or v < 1]
            if bad:
                raise ValueError(f'PReLUNet: arch[{key!r}] must hold '
                                 f'positive ints, got {list(arch[key])}')
        for pool in arch['pools']:
            if pool is not None and (len(pool) != 2 or min(pool) < 1):
                raise ValueError(f'PReLUNet: arch["pools"] entries must be '
                                 f'None or (kernel, stride), got {pool!r}')
        return {k: tuple(arch[k]) for k in ARCH_KEYS}

    @classmethod
    def feature_size(cls, arch: Union[str, dict], size: int) -> int:
        """Side of the last stage's map for an input side ``size``, from the
        arch alone (no weights): max pools ``floor((n - k) / s) + 1``,
        odd-kernel convs ``floor((n + 2 (k // 2) - k) / s) + 1``, even
        kernels keep ``n`` (the padding rule of :class:`ConvAct`)."""
        arch = cls.parse_arch(arch)
        for pool, kernel, stride in zip(arch['pools'], arch['kernel_sizes'],
                                        arch['strides']):
            if pool is not None:
                size = (size - pool[0]) // pool[1] + 1 \
                    if size >= pool[0] else 0
            if kernel % 2:
                size = (size + 2 * (kernel // 2) - kernel) // stride + 1
        return max(size, 0)

    @classmethod
    def smallest_input(cls, arch: Union[str, dict], side: int) -> int:
        """Smallest input side whose last map is at least ``side`` (the
        inverse of :meth:`feature_size`; searched up to 65536)."""
        size = side
        while cls.feature_size(arch, size) < side and size < 1 << 16:
            size += 1
        return size

    @staticmethod
    def _check_indices(out_indices, num_stages) -> Tuple[int, ...]:
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        result = []
        for index in out_indices:
            if not -num_stages <= index < num_stages:
                raise ValueError(
                    f'PReLUNet: out_indices {tuple(out_indices)} out of '
                    f'range for {num_stages} stages')
            result.append(index % num_stages)
        return tuple(result)

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of every stage output."""
        return self.arch['channels']

    @property
    def strides(self) -> Tuple[int, ...]:
        """Total stride of every stage output (for FPN and segmentation
        head configs), ``output_stride`` included."""
        total, strides = 1, []
        for pool, stride, dilation in zip(self.arch['pools'],
                                          self.arch['strides'],
                                          self.dilations):
            total *= (pool[1] if pool else 1) * stride
            strides.append(total // dilation)
        return tuple(strides)

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages + 1):
            stage = self.stages[i]
            stage.eval()
            for param in stage.parameters():
                param.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self
