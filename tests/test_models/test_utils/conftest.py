"""Every test here starts and ends with the PReLU impl switch at its
default (no MMPRELU_PRELU_IMPL, no set_prelu_impl)."""
import pytest

from mmprelu.models.utils import set_prelu_impl


@pytest.fixture(autouse=True)
def reset_global_impl(monkeypatch):
    monkeypatch.delenv('MMPRELU_PRELU_IMPL', raising=False)
    set_prelu_impl(None)
    yield
    set_prelu_impl(None)
