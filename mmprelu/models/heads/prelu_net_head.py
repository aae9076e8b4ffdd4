"""The fc layers of the PReLU-nets: fc1 -> fc2 -> fc3 (Tables 1 and 3)."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead

from mmprelu.registry import MODELS
from ..utils.activation import build_activation


@MODELS.register_module()
class PReLUNetHead(ClsHead):
    """fc 4096 -> fc 4096 -> fc ``num_classes`` classification head.

    fc1 and fc2 are followed by the same activation as the conv layers
    (channel-wise PReLU: 4096 slopes each; Table 1 lists PReLU after fc1 and
    fc2 but not fc3) and by dropout 0.5 (§3). The default init is the paper's
    §2.4 choice: N(0, 0.01^2) for fc1/fc2, N(0, 0.001^2) for the last fc,
    biases 0 — smaller than Eq. (14) would give, to absorb the un-normalized
    [-128, 128] input range.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Length of the pooled feature vector (channels of
            the last stage times the SPP bins, e.g. 512 * 63).
        hidden_channels (Sequence[int]): Widths of the hidden fc layers.
            Defaults to (4096, 4096).
        dropout (float): Dropout probability after each hidden fc.
        act_cfg (dict): Activation after each hidden fc, built by
            :func:`~mmprelu.models.utils.build_activation`.
        loss (dict): Classification loss. Defaults to cross entropy.
        topk (int | tuple): Top-k accuracy computed in training if
            ``cal_acc``. Defaults to (1, ).
        init_cfg (dict | list[dict]): See above.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 hidden_channels: Sequence[int] = (4096, 4096),
                 dropout: float = 0.5,
                 act_cfg: Optional[dict] = dict(type='PReLU'),
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 topk: Union[int, Tuple[int]] = (1, ),
                 init_cfg=None,
                 **kwargs) -> None:
        num_fc = len(tuple(hidden_channels)) + 1
        if init_cfg is None:
            init_cfg = dict(
                type='Normal',
                layer='Linear',
                std=0.01,
                bias=0.,
                override=dict(
                    type='Normal', name=f'fc{num_fc}', std=0.001, bias=0.))
        super().__init__(loss=loss, topk=topk, init_cfg=init_cfg, **kwargs)
        for name, value in (('num_classes', num_classes),
                            ('in_channels', in_channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'PReLUNetHead: {name} must be a positive '
                                 f'int, got {value!r}')
        if not 0 <= dropout < 1:
            raise ValueError(
                f'PReLUNetHead: dropout must be in [0, 1), got {dropout}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.hidden_channels = tuple(hidden_channels)
        self.num_fc = num_fc

        widths = (in_channels, ) + self.hidden_channels
        for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:]), 1):
            self.add_module(f'fc{i}', nn.Linear(cin, cout))
            self.add_module(f'act{i}', build_activation(act_cfg, cout))
            self.add_module(f'drop{i}', nn.Dropout(dropout))
        self.add_module(f'fc{num_fc}', nn.Linear(widths[-1], num_classes))

    @property
    def fc_layers(self) -> Tuple[nn.Linear, ...]:
        return tuple(getattr(self, f'fc{i}') for i in range(1, self.num_fc + 1))

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The output of the last hidden fc (after activation and dropout)."""
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'PReLUNetHead expects (N, {self.in_channels}) features, got '
                f'{tuple(x.shape)}; set in_channels to the neck output size '
                f'(last stage channels x SPP bins)')
        for i in range(1, self.num_fc):
            x = getattr(self, f'drop{i}')(
                getattr(self, f'act{i}')(getattr(self, f'fc{i}')(x)))
        return x

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return getattr(self, f'fc{self.num_fc}')(self.pre_logits(feats))
