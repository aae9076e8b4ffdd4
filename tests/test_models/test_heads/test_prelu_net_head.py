import pytest
import torch
import torch.nn as nn
from mmpretrain.structures import DataSample

from mmprelu.models import PReLUNetHead
from mmprelu.models.utils import PReLU


@pytest.mark.parametrize('act_cfg,act_type', [(dict(type='PReLU'), PReLU),
                                              (dict(type='ReLU'), nn.ReLU)])
def test_structure_and_init(act_cfg, act_type):
    torch.manual_seed(0)
    head = PReLUNetHead(10, 300, hidden_channels=(400, 400), act_cfg=act_cfg)
    head.init_weights()
    assert [fc.out_features for fc in head.fc_layers] == [400, 400, 10]
    assert isinstance(head.act1, act_type) and isinstance(head.act2, act_type)
    assert head.drop1.p == 0.5
    if act_type is PReLU:
        assert head.act1.weight.numel() == 400  # channel-wise on fc too
    # §2.4: std 0.01 for fc1/fc2, 0.001 for the last fc, bias 0
    assert head.fc1.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert head.fc2.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert head.fc3.weight.std().item() == pytest.approx(0.001, rel=0.1)
    assert all(torch.all(fc.bias == 0) for fc in head.fc_layers)


def test_loss_and_predict():
    head = PReLUNetHead(4, 12, hidden_channels=(8, ), topk=(1, ))
    feats = (torch.randn(3, 12), )
    samples = [DataSample().set_gt_label(i % 4) for i in range(3)]
    losses = head.loss(feats, samples)
    assert losses['loss'].item() > 0
    preds = head.predict(feats)
    assert len(preds) == 3 and preds[0].pred_score.shape == (4, )


def test_wrong_feature_size():
    head = PReLUNetHead(4, 12)
    with pytest.raises(ValueError, match='in_channels'):
        head((torch.randn(2, 13), ))
