"""ExactResumeSampler: DefaultSampler's order and set_epoch contract on every
rank, epoch tags, and the one-epoch plan that ExactResumeHook sets (skip,
per-batch call); built from a config under mmpretrain's scope."""
import copy
import pickle
from unittest import mock

import pytest
from mmengine.dataset import DefaultSampler
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch.utils.data import BatchSampler

from mmprelu.datasets.samplers import EpochIndex, ExactResumeSampler


def on_rank(rank, world_size, cls, *args, **kwargs):
    with mock.patch(
            'mmengine.dataset.sampler.get_dist_info',
            return_value=(rank, world_size)):
        return cls(*args, **kwargs)


@pytest.mark.parametrize('world_size', [1, 3])
@pytest.mark.parametrize('shuffle,round_up', [(True, True), (False, True),
                                              (True, False)])
def test_same_order_as_default_sampler_on_every_rank(world_size, shuffle,
                                                     round_up):
    """Each rank's shard, epoch by epoch (set_epoch, as DistSamplerSeedHook
    calls it), equals DefaultSampler's; each index carries its epoch."""
    for rank in range(world_size):
        ours = on_rank(
            rank,
            world_size,
            ExactResumeSampler,
            range(10),
            shuffle=shuffle,
            seed=7,
            round_up=round_up)
        theirs = on_rank(
            rank,
            world_size,
            DefaultSampler,
            range(10),
            shuffle=shuffle,
            seed=7,
            round_up=round_up)
        assert (ours.rank, ours.world_size) == (rank, world_size)
        assert len(ours) == len(theirs)
        for epoch in (0, 1, 4):
            ours.set_epoch(epoch), theirs.set_epoch(epoch)
            got = list(ours)
            assert got == list(theirs)
            assert all(
                isinstance(i, EpochIndex) and i.epoch == epoch for i in got)


@pytest.mark.parametrize('skip,first', [(0, [0, 1, 2]), (1, [3, 4, 5]),
                                        (3, [9]), (4, None)])
def test_plan_skips_batches_once(skip, first):
    sampler = ExactResumeSampler(range(10), shuffle=False, seed=0)
    batches = BatchSampler(sampler, 3, drop_last=False)
    sampler.set_epoch(5)
    sampler.plan_next_epoch(3, skip_batches=skip)
    assert len(batches) == 4  # the epoch length is unchanged
    got = list(batches)
    assert (got[0] if got else None) == first
    assert sum(len(b) for b in got) == max(0, 10 - 3 * skip)
    assert all(i.epoch == 5 for b in got for i in b)
    assert sampler.plan is None  # used up
    assert len(list(batches)) == 4  # the next epoch is whole again


def test_plan_calls_before_each_batch_is_drawn():
    """``before_batch(j)`` runs when the batch sampler starts drawing the
    j-th yielded batch, i.e. after the previous batch was consumed."""
    sampler = ExactResumeSampler(range(7), shuffle=False, seed=0)
    batches = BatchSampler(sampler, 2, drop_last=False)
    events = []
    sampler.plan_next_epoch(
        2, skip_batches=1, before_batch=lambda j: events.append(('call', j)))
    for batch in batches:
        events.append(('batch', list(batch)))
    assert events == [('call', 0), ('batch', [2, 3]), ('call', 1),
                      ('batch', [4, 5]), ('call', 2), ('batch', [6])]


@pytest.mark.parametrize(
    'kwargs', [dict(batch_size=0),
               dict(batch_size=2, skip_batches=-1)])
def test_bad_plan_names_the_values(kwargs):
    sampler = ExactResumeSampler(range(4), seed=0)
    with pytest.raises(ValueError, match='batch_size must be >= 1'):
        sampler.plan_next_epoch(**kwargs)


def test_epoch_index_survives_pickle_and_copy():
    index = EpochIndex(7, 3)
    for clone in (pickle.loads(pickle.dumps(index)), copy.deepcopy(index)):
        assert clone == 7 and clone.epoch == 3
        assert isinstance(clone, EpochIndex)
    assert [10, 11, 12, 13, 14, 15, 16, 17][index] == 17
    assert repr(index) == '7'


def test_built_from_a_config_by_the_runner():
    """``sampler=dict(type='ExactResumeSampler')`` under the configs'
    default scope, with the Runner's seed."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        loader = Runner.build_dataloader(
            dict(
                dataset=list(range(6)),
                batch_size=2,
                num_workers=0,
                sampler=dict(type='ExactResumeSampler', shuffle=True)),
            seed=5)
    assert isinstance(loader.sampler, ExactResumeSampler)
    assert loader.sampler.seed == 5
    assert sorted(int(i) for b in loader.batch_sampler for i in b) == \
        list(range(6))
