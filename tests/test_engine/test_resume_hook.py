"""ExactResumeHook pieces: RNG states round-trip through a weights-only
checkpoint, per-epoch seeds, and the one-epoch skipping sampler (the
end-to-end SIGKILL test is tests/test_tools/test_exact_resume.py)."""
import io
import random

import numpy as np
import pytest
import torch
from torch.utils.data import BatchSampler, SequentialSampler

from mmprelu.engine.hooks import ExactResumeHook
from mmprelu.engine.hooks.resume_hook import (_ResumedSampler, epoch_seed,
                                              get_rng_state, set_rng_state)


def draws():
    return (random.random(), float(np.random.rand()), np.random.randn(),
            float(torch.rand(1)))


def test_rng_state_round_trips_through_weights_only_file():
    np.random.randn()  # a cached gaussian is part of numpy's state
    buffer = io.BytesIO()
    torch.save({'rng_state': get_rng_state()}, buffer)
    expected = draws()
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)['rng_state']
    set_rng_state(state)
    assert draws() == expected


def test_hook_stores_and_keeps_loaded_state():
    hook = ExactResumeHook()
    checkpoint = {}
    hook.before_save_checkpoint(None, checkpoint)
    assert set(checkpoint['rng_state']) >= {'python', 'numpy', 'torch'}
    hook.after_load_checkpoint(None, checkpoint)
    assert hook._loaded is checkpoint['rng_state']


@pytest.mark.parametrize('seed', [0, 7, 2**40 + 3])
def test_epoch_seed_is_deterministic_and_differs_by_epoch(seed):
    seeds = [epoch_seed(seed, e) for e in range(5)]
    assert seeds == [epoch_seed(seed, e) for e in range(5)]
    assert len(set(seeds)) == 5 and all(0 <= s < 2**32 for s in seeds)


@pytest.mark.parametrize('skip,first', [(0, [0, 1, 2]), (3, [3, 4, 5]),
                                        (9, [9]), (12, None)])
def test_resumed_sampler_skips_once(skip, first):
    batches = BatchSampler(SequentialSampler(range(10)), 3, drop_last=False)
    original = batches.sampler
    state = get_rng_state()
    expected = draws()
    batches.sampler = _ResumedSampler(batches, skip, state)
    assert len(batches) == 4  # the epoch length is unchanged
    got = list(batches)
    assert (got[0] if got else None) == first
    assert sum(len(b) for b in got) == max(0, 10 - skip)
    assert draws() == expected  # the stored state was restored
    assert batches.sampler is original
    assert len(list(batches)) == 4  # the next epoch is whole again
