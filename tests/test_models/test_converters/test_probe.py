"""The converter's probe forward: on meta copies through
torch.func.functional_call, the model itself never edited; a real-device
rerun when meta fails; the same records either way."""
from collections import namedtuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmprelu.models.converters.probe import probe_model, tensors_in


class Net(nn.Module):

    def __init__(self, meta_ok=True):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.act = nn.ReLU()
        self.fc = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)
        self.meta_ok = meta_ok

    def forward(self, x):
        x = self.act(self.bn(self.conv(x))).mean((2, 3))
        if not self.meta_ok:
            float(x.sum())  # needs values: fails on meta tensors
        return self.head(F.leaky_relu(self.fc(x), 0.1))


def snapshot(model):
    return ([(n, p, p.detach().clone(), p.device)
             for n, p in model.named_parameters()], [
                 (n, b, b.clone()) for n, b in model.named_buffers()
             ], [m.training for m in model.modules()])


def assert_untouched(model, before):
    params, buffers, flags = snapshot(model)
    for (n, p, v, d), (n2, p2, v2, d2) in zip(before[0], params):
        assert n == n2 and p is p2 and d == d2  # same objects, same device
        assert torch.equal(v, v2)
    for (n, b, v), (n2, b2, v2) in zip(before[1], buffers):
        assert n == n2 and b is b2 and torch.equal(v, v2)
    assert flags == before[2]


def check_records(result, model):
    assert [c.channels for c in result.calls[model.act]] == [4]
    assert result.feeds['conv'] == ((model.act, 0), 0.0)
    assert result.feeds['fc'] == ('F.leaky_relu', 0.1)
    assert 'head' not in result.feeds and 'head' in result.called
    assert [f[3] for f in result.functional] == ['F.leaky_relu']


def test_runs_on_meta_and_leaves_the_model_untouched():
    model = Net().train()
    before = snapshot(model)
    rng = torch.get_rng_state()
    result = probe_model(model, (nn.ReLU, ), (2, 3, 8, 8))
    assert result.on_meta
    check_records(result, model)
    assert_untouched(model, before)
    assert torch.equal(torch.get_rng_state(), rng)
    assert model.bn.num_batches_tracked == 0  # eval mode: no BN update


def test_tied_weights_stay_tied():
    model = Net()
    model.head = nn.Linear(4, 4)
    model.head.weight = model.fc.weight  # one Parameter in two modules
    result = probe_model(model, (nn.ReLU, ), (1, 3, 8, 8))
    assert result.on_meta
    assert model.head.weight is model.fc.weight
    assert model.fc.weight.device.type == 'cpu'


def test_reruns_on_the_real_device_when_meta_fails():
    model = Net(meta_ok=False)
    before = snapshot(model)
    result = probe_model(model, (nn.ReLU, ), (2, 3, 8, 8))
    assert not result.on_meta
    check_records(result, model)
    assert_untouched(model, before)


def test_custom_forward_gets_the_model():
    model = Net()
    seen = []

    def forward(m, x):
        seen.append((m, x.device.type))
        return m(x)

    probe_model(model, (nn.ReLU, ), (1, 3, 8, 8), forward=forward)
    assert seen == [(model, 'meta')]


def test_tensors_in_nested_containers():
    Pair = namedtuple('Pair', 'a b')
    a, b, c, d = (torch.zeros(i + 1) for i in range(4))
    values = ([a, (Pair(b, 3), {'k': c, 'n': None})], {'x': [d]}, 'str')
    assert [t.numel() for t in tensors_in(values)] == [1, 2, 3, 4]
    assert list(tensors_in(torch.max(torch.ones(2, 2), 1))) != []
