"""mmprelu.apis.elastic: restart detection, per-round store keys for
torchrun restarts on one node, and the roll call that names ranks which do
not answer after a collective failed (the two-process end-to-end tests are
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
    (dict(TORCHELASTIC_RESTART_COUNT=2, TORCHELASTIC_MAX_RESTARTS=3),
     'torchrun restart 2 of at most 3'),
    (dict(SLURM_RESTART_COUNT=1), 'Slurm requeue 1'),
])
def test_restart_reason(env, values, expected):
    env(**values)
    assert elastic.restart_reason() == expected


def round_key(round_, key):
    """Where ``key``, written by restart round ``round_`` through
    :func:`elastic.create_store`, lies in the agent's store: under our
    prefix, or under torch 2.1's own (its env:// rendezvous)."""
    if compat.torch_keys_restart_rounds_apart():
        return f'/worker/attempt_{round_}/{key}'
    return f'mmprelu/attempt_{round_}/{key}'


@pytest.mark.parametrize('values,expected', [
    (dict(), None),  # not torchrun's agent store
    (dict(TORCHELASTIC_USE_AGENT_STORE='False',
          TORCHELASTIC_RESTART_COUNT=1), None),  # a fresh store per round
    (dict(TORCHELASTIC_USE_AGENT_STORE='True', TORCHELASTIC_RESTART_COUNT=2,
          GROUP_WORLD_SIZE=1), 'mmprelu/attempt_2'),
    (dict(TORCHELASTIC_USE_AGENT_STORE='True', TORCHELASTIC_RESTART_COUNT=2,
          GROUP_WORLD_SIZE=2, TORCHELASTIC_MAX_RESTARTS=3), None),
])
def test_store_prefix(env, values, expected, monkeypatch):
    env(**values)
    logged = []
    monkeypatch.setattr(elastic, 'print_log',
                        lambda message, **kwargs: logged.append(message))
    if compat.torch_keys_restart_rounds_apart():
        expected = None  # torch 2.1 prefixes the keys itself
    assert elastic.store_prefix() == expected
    warned = any('--rdzv-backend=c10d and TORCH_DISABLE_SHARE_RDZV_TCP_STORE'
                 '=1' in m for m in logged)
    assert warned is (values.get('GROUP_WORLD_SIZE') == 2)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def agent_store(env):
    """A store server like torchrun's agent hosts, and the environment the
    agent gives its workers on one node."""
    port = free_port()
    server = torch_dist.TCPStore('127.0.0.1', port, is_master=True,
                                 wait_for_workers=False,
                                 timeout=datetime.timedelta(seconds=10))
    env(MASTER_ADDR='127.0.0.1', MASTER_PORT=port,
        TORCHELASTIC_USE_AGENT_STORE='True', GROUP_WORLD_SIZE=1,
        TORCHELASTIC_RESTART_COUNT=0)
    return server


def test_restart_round_switch_matches_torch(agent_store):
    """compat's feature test (``RendezvousHandler.use_agent_store``) says
    what torch's own env:// rendezvous does with the agent's store: key
    restart rounds apart (torch 2.1) or not (newer torch)."""
    store, _, _ = next(torch_dist.rendezvous(
        'env://', rank=0, world_size=1,
        timeout=datetime.timedelta(seconds=10)))
    store.set('key', 'value')
    # delete_key: True if the key was there (torch 2.1's Store has no check)
    assert compat.torch_keys_restart_rounds_apart() is \
        (not agent_store.delete_key('key'))


def test_restart_rounds_write_different_keys(agent_store, env):
    """The stale-key failure of torchrun restarts: every round's process
    group writes the same keys into the agent's one store. With the prefix,
    round 1 never reads round 0's entries."""
    timeout = datetime.timedelta(seconds=10)
    for round_ in (0, 1):
        env(TORCHELASTIC_RESTART_COUNT=round_)
        store = elastic.create_store(0, 1, timeout)
        store.set('rank_0', f'address of round {round_}')
    assert agent_store.get(round_key(0, 'rank_0')) == b'address of round 0'
    assert agent_store.get(round_key(1, 'rank_0')) == b'address of round 1'
    assert not agent_store.delete_key('rank_0')  # never written unprefixed


def test_roll_call_names_silent_ranks(agent_store):
    agent_store.add(round_key(0, 'mmprelu/roll_call/2'), 1)
    assert elastic.unresponsive_ranks(0, 4, grace=1) == [1, 3]
    assert agent_store.add(round_key(0, 'mmprelu/roll_call/0'), 0) == 1


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
    assert elastic.explain_collective_failure(
        ValueError('loss is NaN'), 5) is None
    assert elastic.explain_collective_failure(
        RuntimeError('DataLoader timed out after 5 seconds'), 5) is None
    assert len(calls) == 2


def test_no_roll_call_without_a_group():
    assert not torch_dist.is_initialized()
    assert elastic.explain_collective_failure(
        torch_dist.DistBackendError('NCCL timeout'), 5) is None
