"""MultiSitePReLU (mmprelu/models/converters/multi_site.py): the call count
belongs to one forward of the owner, so an exception mid-forward or a
forward that skips a site cannot shift the sites of the next forward or of
a checkpoint replay."""
import copy
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from mmprelu.models.converters import MultiSitePReLU, register_site_resets

SLOPES = (0.1, 0.2, 0.3)


class Owner(nn.Module):
    """Calls ``act`` ``calls`` times per forward (like ResNet's Bottleneck
    calls its one ``relu`` three times), optionally checkpointed; raises
    before call ``fail_at``."""

    def __init__(self, use_reentrant=None):
        super().__init__()
        self.act = MultiSitePReLU([4, 4, 4])
        for site, a in zip(self.act.sites, SLOPES):
            nn.init.constant_(site.weight, a)
        self.use_reentrant = use_reentrant
        self.calls, self.fail_at = 3, None

    def _inner(self, x):
        for i in range(self.calls):
            if i == self.fail_at:
                raise RuntimeError('failed mid-forward')
            x = self.act(x) * (i + 2) - 1
        return x

    def forward(self, x):
        if self.use_reentrant is None:
            return self._inner(x)
        return checkpoint(self._inner, x, use_reentrant=self.use_reentrant)


def owner(**kwargs):
    model = Owner(**kwargs)
    register_site_resets(model, [model.act], ['act'])
    return model


def expected(x, calls=3):
    """The forward with site i's slope at call i, written out."""
    for i in range(calls):
        x = F.prelu(x, torch.tensor([SLOPES[i]])) * (i + 2) - 1
    return x


def site_grads(model):
    return [
        None if s.weight.grad is None else s.weight.grad.clone()
        for s in model.act.sites
    ]


def reference_grads(x, calls=3):
    ref = owner()
    ref.calls = calls
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the skipped-site warning
        ref(x).sum().backward()
    return site_grads(ref)


def assert_grads_equal(got, want):
    for g, w in zip(got, want):
        assert (g is None) == (w is None)
        if g is not None:
            assert torch.allclose(g, w, atol=1e-5)


@pytest.fixture
def x():
    torch.manual_seed(0)
    return torch.randn(2, 4, 5, 5, requires_grad=True)


def test_exception_mid_forward_leaves_no_offset(x):
    model = owner()
    model.fail_at = 2
    with pytest.raises(RuntimeError, match='failed mid-forward'):
        model(x)
    assert model.act._next == 0  # reset when the failed forward ended
    model.fail_at = None
    assert torch.allclose(model(x), expected(x), atol=1e-6)


@pytest.mark.parametrize('use_reentrant', [True, False])
def test_exception_between_forward_and_checkpoint_replay(x, use_reentrant):
    """Forward A (checkpointed), then forward B of the same block fails
    after one call, then A's backward replays A: the replay must start at
    site 0 (a count left by B would shift it)."""
    model = owner(use_reentrant=use_reentrant)
    out = model(x)
    model.fail_at = 1
    with pytest.raises(RuntimeError, match='failed mid-forward'):
        model(x.detach().clone().requires_grad_())
    model.fail_at = None  # the replay of A runs the calls again
    out.sum().backward()
    assert_grads_equal(site_grads(model), reference_grads(x))


@pytest.mark.parametrize('use_reentrant', [None, True, False])
def test_forward_that_skips_a_site(x, use_reentrant):
    """A forward with 2 of the 3 calls warns once, its checkpoint replay
    uses sites 0 and 1, and the next full forward is exact."""
    model = owner(use_reentrant=use_reentrant)
    model.calls = 2
    with pytest.warns(UserWarning, match=r'act: .*made 2 calls.* for 3'):
        out = model(x)
    assert torch.allclose(out, expected(x, calls=2), atol=1e-6)
    out.sum().backward()
    assert_grads_equal(site_grads(model), reference_grads(x, calls=2))
    model.calls = 3
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # once per module, and not now
        model.calls = 2
        model(x)
        model.calls = 3
        assert torch.allclose(model(x), expected(x), atol=1e-6)


def test_wrong_order_still_raises_and_recovers(x):
    model = owner()
    model.act.sites[1] = type(model.act.sites[1])(7)  # site 1: 7 channels
    with pytest.raises(RuntimeError, match='call site 1 has 7 slopes'):
        model(x)
    assert model.act._next == 0


def test_standalone_module_counts_in_call_order(x):
    act = Owner().act  # no owner hooks: the caller resets
    first = [act(x) for _ in range(3)]
    act.reset()
    again = act(x)
    assert torch.equal(again, first[0])
    assert torch.allclose(first[2], F.prelu(x, torch.tensor([0.3])))


def test_deepcopy_and_pickle_keep_working_hooks(x):
    model = owner()
    clone = copy.deepcopy(model)
    clone.act._next = 1
    assert torch.allclose(clone(x), expected(x), atol=1e-6)
    assert clone.act._next == 0 and model.act._next == 0
