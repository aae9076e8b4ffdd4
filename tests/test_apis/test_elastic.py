"""mmprelu.apis.elastic: restart detection, the warning for restarts on a
shared store, and the roll call that names ranks which do not answer after
a collective failed (the two-process end-to-end tests are
tests/test_tools/test_elastic_train.py)."""
import datetime
import socket

import pytest
import torch.distributed as torch_dist

from mmprelu import compat
from mmprelu.apis import elastic

ELASTIC_VARS = ('TORCHELASTIC_RESTART_COUNT', 'TORCHELASTIC_MAX_RESTARTS',
                'SLURM_RESTART_COUNT', 'TORCHELASTIC_USE_AGENT_STORE',
                'GROUP_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')


@pytest.fixture
def env(monkeypatch):
    for name in ELASTIC_VARS:
        monkeypatch.delenv(name, raising=False)

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))

    return set_env


@pytest.mark.parametrize('values,expected', [
    (dict(), None),
    (dict(TORCHELASTIC_RESTART_COUNT=0, TORCHELASTIC_MAX_RESTARTS=3), None),
    (dict(TORCHELASTIC_RESTART_COUNT=2,
          TORCHELASTIC_MAX_RESTARTS=3), 'torchrun restart 2 of at most 3'),
    (dict(SLURM_RESTART_COUNT=1), 'Slurm requeue 1'),
])
def test_restart_reason(env, values, expected):
    env(**values)
    assert elastic.restart_reason() == expected


def agent_key(key):
    """Where ``key``, written through torch's env:// rendezvous in restart
    round 0, lies in the agent's store (torch 2.1 prefixes it)."""
    if compat.torch_keys_restart_rounds_apart():
        return f'/worker/attempt_0/{key}'
    return key


@pytest.mark.parametrize(
    'values,warned',
    [
        (dict(), False),  # not torchrun
        (dict(TORCHELASTIC_USE_AGENT_STORE='True'), False),  # no restarts
        (dict(
            TORCHELASTIC_USE_AGENT_STORE='False',
            TORCHELASTIC_MAX_RESTARTS=3), False),  # a fresh store per round
        (dict(
            TORCHELASTIC_USE_AGENT_STORE='True',
            TORCHELASTIC_MAX_RESTARTS=3), True),
    ])
def test_warn_shared_store(env, values, warned, monkeypatch):
    env(**values)
    logged = []
    monkeypatch.setattr(elastic, 'print_log',
                        lambda message, **kwargs: logged.append(message))
    elastic.warn_shared_store()
    if compat.torch_keys_restart_rounds_apart():
        warned = False  # torch 2.1 keys the rounds apart itself
    assert bool(logged) is warned
    assert all('--rdzv-backend=c10d and TORCH_DISABLE_SHARE_RDZV_TCP_STORE'
               '=1' in m for m in logged)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def agent_store(env):
    """A store server like torchrun's agent hosts, and the environment the
    agent gives its workers on one node."""
    port = free_port()
    server = torch_dist.TCPStore(
        '127.0.0.1',
        port,
        is_master=True,
        wait_for_workers=False,
        timeout=datetime.timedelta(seconds=10))
    env(MASTER_ADDR='127.0.0.1',
        MASTER_PORT=port,
        TORCHELASTIC_USE_AGENT_STORE='True',
        GROUP_WORLD_SIZE=1,
        TORCHELASTIC_RESTART_COUNT=0)
    return server


def test_restart_round_switch_matches_torch(agent_store):
    """compat's feature test (``RendezvousHandler.use_agent_store``) says
    what torch's own env:// rendezvous does with the agent's store: key
    restart rounds apart (torch 2.1) or not (newer torch)."""
    store, _, _ = next(
        torch_dist.rendezvous(
            'env://',
            rank=0,
            world_size=1,
            timeout=datetime.timedelta(seconds=10)))
    store.set('key', 'value')
    # delete_key: True if the key was there (torch 2.1's Store has no check)
    assert compat.torch_keys_restart_rounds_apart() is \
        (not agent_store.delete_key('key'))


def test_roll_call_names_silent_ranks(agent_store):
    agent_store.add(agent_key('mmprelu/roll_call/2'), 1)
    assert elastic.unresponsive_ranks(0, 4, grace=1) == [1, 3]
    assert agent_store.add(agent_key('mmprelu/roll_call/0'), 0) == 1


def test_explain_collective_failure(monkeypatch):
    monkeypatch.setattr(torch_dist, 'is_initialized', lambda: True)
    monkeypatch.setattr(torch_dist, 'get_world_size', lambda: 4)
    monkeypatch.setattr(torch_dist, 'get_rank', lambda: 0)
    calls = []
    monkeypatch.setattr(elastic, 'unresponsive_ranks',
                        lambda *args: calls.append(args) or [2])
    timed_out = RuntimeError('[third_party/gloo/gloo/transport/tcp/unbound_'
                             'buffer.cc:78] Timed out waiting 5000ms for '
                             'recv operation to complete')
    message = elastic.explain_collective_failure(timed_out, 5)
    assert calls == [(0, 4, 5.0)]
    assert 'a collective failed (env_cfg.dist_cfg.timeout=5 s)' in message
    assert 'rank(s) [2] did not answer a roll call within 5 s' in message
    # torch.distributed's own error class, whatever its text names
    assert elastic.explain_collective_failure(
        torch_dist.DistBackendError('operation timed out'), 5) is not None
    # the rank's own errors are left alone, without a roll call
    assert elastic.explain_collective_failure(ValueError('loss is NaN'),
                                              5) is None
    assert elastic.explain_collective_failure(
        RuntimeError('DataLoader timed out after 5 seconds'), 5) is None
    assert len(calls) == 2


def test_no_roll_call_without_a_group():
    assert not torch_dist.is_initialized()
    assert elastic.explain_collective_failure(
        torch_dist.DistBackendError('NCCL timeout'), 5) is None
