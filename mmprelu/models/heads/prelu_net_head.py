"""The fc layers of the PReLU-nets: fc1 -> fc2 -> fc3 (Tables 1 and 3)."""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model.weight_init import NormalInit
from mmpretrain.models.heads import StackedLinearClsHead

from mmprelu.registry import (MMENGINE_WEIGHT_INITIALIZERS, MODELS,
                              WEIGHT_INITIALIZERS)
from ..utils.activation import build_activation


@MODELS.register_module()
class PReLUNetHead(StackedLinearClsHead):
    """mmpretrain's ``StackedLinearClsHead`` (same arguments, same layers:
    ``layers.<i>.fc``, ``layers.<i>.act``, ``fc`` the last block) with the
    paper's defaults: fc 4096 -> fc 4096 -> fc ``num_classes``, dropout 0.5
    (§3), and after fc1 and fc2 the activation of the conv layers (Table 1
    lists PReLU after fc1 and fc2, not fc3).

    What it adds:

    * ``act_cfg`` is built by :func:`~mmprelu.models.utils.build_activation`,
      so ``type='PReLU'`` gets one slope per unit (4096 each; mmcv's
      ``build_activation_layer`` gives ``nn.PReLU`` a single slope) and
      takes the keys ``channel_shared``, ``init``, ``impl``.
    * The default ``init_cfg`` is §2.4's: N(0, 0.01^2) for the hidden fcs,
      N(0, 0.001^2) for the last fc, biases 0 (smaller than Eq. (14) would
      give, to absorb the un-normalized [-128, 128] input range).

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Length of the pooled feature vector (channels of
            the last stage times the SPP bins, e.g. 512 * 63).
        mid_channels (Sequence[int]): Widths of the hidden fc layers.
            Defaults to (4096, 4096).
        dropout_rate (float): Dropout after each hidden fc. Defaults to 0.5.
        norm_cfg (dict, optional): Norm layer after each hidden fc (the
            paper has none). Defaults to None.
        act_cfg (dict, optional): Activation after each hidden fc.
            Defaults to channel-wise PReLU.
        **kwargs: ``ClsHead``'s ``loss``, ``topk``, ``cal_acc``, ``init_cfg``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 mid_channels: Sequence[int] = (4096, 4096),
                 dropout_rate: float = 0.5,
                 norm_cfg: Optional[Dict] = None,
                 act_cfg: Optional[Dict] = dict(type='PReLU'),
                 **kwargs) -> None:
        kwargs.setdefault(
            'init_cfg',
            dict(
                type='Normal',
                layer='Linear',
                std=0.01,
                bias=0.,
                override=dict(type='Normal', name='fc', std=0.001, bias=0.)))
        super().__init__(num_classes, in_channels, tuple(mid_channels),
                         dropout_rate, norm_cfg, act_cfg, **kwargs)

    def _init_layers(self) -> None:
        act_cfg, self.act_cfg = self.act_cfg, None
        super()._init_layers()
        self.act_cfg = act_cfg
        if act_cfg is not None:
            for block in self.layers[:-1]:
                block.act = build_activation(act_cfg, block.fc.out_features)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Upstream's, after a check that names ``in_channels`` (a wrong
        value is easy to set: last stage channels x SPP bins). A bare
        tensor is taken as one feature map (torch 2.1's
        ``FlopCounterMode(mods=...)`` unwraps the neck's 1-tuple)."""
        if isinstance(feats, torch.Tensor):
            feats = (feats, )
        if feats[-1].dim() != 2 or feats[-1].shape[1] != self.in_channels:
            raise ValueError(
                f'PReLUNetHead expects (N, {self.in_channels}) features, got '
                f'{tuple(feats[-1].shape)}; set in_channels to the neck '
                f'output size (last stage channels x SPP bins)')
        return super().pre_logits(feats)


class LayerwiseNormalInit(NormalInit):
    """mmengine's ``Normal`` init with one std per matched ``layer``, in
    module order (``None``: leave that layer as it is). §2.4 gives each fc
    its own std (0.01, 0.01, 0.001); a reduced model may rescale each one
    (configs/experiments). ``init_cfg=dict(type='LayerwiseNormal',
    layer='Linear', std=(...))``: works on any model, e.g. on mmpretrain's
    ``StackedLinearClsHead``, whose hidden fcs have no names of their own.
    """

    def __init__(self, std: Sequence[Optional[float]], **kwargs) -> None:
        super().__init__(**kwargs)
        self.stds = tuple(std)
        if not self.layer:
            raise ValueError('LayerwiseNormal init: set `layer` (e.g. '
                             "'Linear'), the type whose modules get the stds")

    def __call__(self, module: nn.Module) -> None:
        layers = [
            m for m in module.modules() if type(m).__name__ in self.layer
        ]
        if len(layers) != len(self.stds):
            raise ValueError(
                f'LayerwiseNormal init: std has {len(self.stds)} values '
                f'but {type(module).__name__} has {len(layers)} '
                f'{"/".join(self.layer)} layers')
        for layer, std in zip(layers, self.stds):
            if std is not None:
                NormalInit(
                    mean=self.mean, std=std, bias=self.bias, layer=self.layer)(
                        layer)


WEIGHT_INITIALIZERS.register_module(
    name='LayerwiseNormal', module=LayerwiseNormalInit)
MMENGINE_WEIGHT_INITIALIZERS.register_module(
    name='LayerwiseNormal', module=LayerwiseNormalInit)
