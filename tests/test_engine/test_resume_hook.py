"""ExactResumeHook pieces: RNG states round-trip through a weights-only
checkpoint, per-epoch seeds, the one-epoch sampler and per-sample seeding (the
end-to-end SIGKILL test is tests/test_tools/test_exact_resume.py)."""
import copy
import io
import pickle
import random

import numpy as np
import pytest
import torch
from torch.utils.data import (BatchSampler, DataLoader, Dataset,
                              SequentialSampler)

from mmprelu.engine.hooks import ExactResumeHook
from mmprelu.engine.hooks.seeding import (EpochIndex, EpochSampler,
                                          SampleSeededPipeline, epoch_seed,
                                          get_rng_state, seed_everything,
                                          set_rng_state)


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
def test_epoch_sampler_skips_once_and_restores_state(skip, first):
    batches = BatchSampler(SequentialSampler(range(10)), 3, drop_last=False)
    original = batches.sampler
    state = get_rng_state()
    expected = draws()
    batches.sampler = EpochSampler(batches, 5, skip=skip, rng_state=state,
                                   reseed=123)
    assert len(batches) == 4  # the epoch length is unchanged
    got = list(batches)
    assert (got[0] if got else None) == first
    assert sum(len(b) for b in got) == max(0, 10 - skip)
    assert all(i.epoch == 5 for b in got for i in b)
    assert draws() == expected  # the stored state wins over the reseed
    assert batches.sampler is original
    assert len(list(batches)) == 4  # the next epoch is whole again


@pytest.mark.parametrize('tag', [True, False])
def test_epoch_sampler_reseeds_and_tags(tag):
    batches = BatchSampler(SequentialSampler(range(4)), 2, drop_last=False)
    batches.sampler = EpochSampler(batches, 2, reseed=99, tag=tag)
    got = list(batches)
    after = draws()
    seed_everything(99)
    assert draws() == after
    assert got == [[0, 1], [2, 3]]
    assert all(hasattr(i, 'epoch') == tag for b in got for i in b)


def test_epoch_index_survives_pickle_and_copy():
    index = EpochIndex(7, 3)
    for clone in (pickle.loads(pickle.dumps(index)), copy.deepcopy(index)):
        assert clone == 7 and clone.epoch == 3
        assert isinstance(clone, EpochIndex)
    assert [10, 11, 12, 13, 14, 15, 16, 17][index] == 17


class NoisyDataset(Dataset):
    """Each sample: one draw from python, numpy and torch."""

    def __init__(self, n=12):
        self.n = n
        self.pipeline = lambda results: dict(
            results, value=(random.random(), float(np.random.rand()),
                            float(torch.rand(1))))

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        return self.pipeline(dict(sample_idx=idx))['value']


def test_seeded_pipeline_is_a_function_of_seed_epoch_and_index():
    dataset = NoisyDataset()
    dataset.pipeline = SampleSeededPipeline(dataset.pipeline, seed=4)
    before = get_rng_state()
    first = dataset[EpochIndex(3, 0)]
    draws()  # whatever happened in between
    assert dataset[EpochIndex(3, 0)] == first
    assert dataset[EpochIndex(3, 1)] != first  # another epoch
    assert dataset[EpochIndex(4, 0)] != first  # another sample
    set_rng_state(before)
    expected = draws()
    set_rng_state(before)
    dataset[EpochIndex(3, 0)]
    assert draws() == expected  # the caller's stream is untouched
    plain = dataset[3]  # no epoch (validation): unseeded
    assert plain != dataset[3]


def epoch_values(workers, persistent, epochs=2, skip=0):
    dataset = NoisyDataset()
    dataset.pipeline = SampleSeededPipeline(dataset.pipeline, seed=1)
    loader = DataLoader(dataset, batch_size=4, shuffle=False,
                        num_workers=workers,
                        persistent_workers=persistent and workers > 0)
    out = []
    for epoch in range(epochs):
        loader.batch_sampler.sampler = EpochSampler(
            loader.batch_sampler, epoch, skip=skip if epoch == 0 else 0)
        out.append([tuple(float(x) for x in row)
                    for batch in loader for row in zip(*batch)])
    return out


@pytest.mark.parametrize('workers,persistent', [(2, False), (2, True)])
def test_augmentation_does_not_depend_on_workers(workers, persistent):
    reference = epoch_values(0, False)
    assert reference[0] != reference[1]  # epochs differ
    assert epoch_values(workers, persistent) == reference
    # a resumed epoch (first 2 batches done) sees the same later samples
    resumed = epoch_values(workers, persistent, skip=8)
    assert resumed[0] == reference[0][8:] and resumed[1] == reference[1]
