"""ExactResumeHook pieces: per-iteration, per-rank seeds (CUDA included,
mocked), checkpoints mapped onto any device, a resume on another number of
processes, the one-epoch sampler and per-sample seeding (the end-to-end
SIGKILL tests are tests/test_tools/test_exact_resume.py and, with two
processes, test_elastic_train.py)."""
import copy
import pickle
import random
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import (BatchSampler, DataLoader, Dataset,
                              SequentialSampler)

from mmprelu.engine.hooks import ExactResumeHook, resume_hook
from mmprelu.engine.hooks.seeding import (EpochIndex, EpochSampler,
                                          SampleSeededPipeline,
                                          iteration_seed, seed_everything)


def draws():
    return (random.random(), float(np.random.rand()), np.random.randn(),
            float(torch.rand(1)))


@pytest.mark.parametrize('seed', [0, 7, 2**40 + 3])
def test_iteration_seed_differs_by_iteration_and_rank(seed):
    seeds = {(i, r): iteration_seed(seed, i, r)
             for i in range(5) for r in range(4)}
    assert seeds == {(i, r): iteration_seed(seed, i, r)
                     for i in range(5) for r in range(4)}
    assert len(set(seeds.values())) == 20
    assert all(0 <= s < 2**32 for s in seeds.values())


def fake_runner(iteration=0, epoch=0, seed=3, loader=None):
    runner = mock.MagicMock()
    runner.seed, runner.iter, runner.epoch = seed, iteration, epoch
    runner.train_loop = mock.MagicMock(spec=EpochBasedTrainLoop)
    runner.train_loop.dataloader = runner.train_dataloader = loader
    return runner


def stream_of(rank, iteration, cuda_seeds=None):
    """Draws right after the hook's reseed for ``iteration`` on ``rank``;
    the seeds given to every CUDA device are appended to ``cuda_seeds``."""
    hook = ExactResumeHook()
    draws()  # whatever ran before
    seeds = [] if cuda_seeds is None else cuda_seeds
    with mock.patch.object(resume_hook, 'get_rank', return_value=rank), \
            mock.patch('torch.cuda.is_initialized', return_value=True), \
            mock.patch('torch.cuda.manual_seed_all',
                       side_effect=seeds.append):
        hook.before_train_iter(fake_runner(iteration), 0)
    return draws()


def test_each_rank_and_iteration_has_its_own_stream():
    assert stream_of(1, 5) == stream_of(1, 5)
    assert stream_of(1, 5) != stream_of(0, 5)  # ranks differ
    assert stream_of(1, 5) != stream_of(1, 6)  # iterations differ


def test_cuda_generators_get_the_rank_seed():
    """Once CUDA is in use every device is seeded; mocked here (no GPU)."""
    seeds = []
    stream_of(0, 5, seeds), stream_of(3, 5, seeds)
    assert seeds == [iteration_seed(3, 5, 0), iteration_seed(3, 5, 3)]


@pytest.mark.parametrize('device', ['meta', 'cpu'])
def test_checkpoint_on_any_device_resumes(device):
    """Mapped onto cuda/meta, a checkpoint (old ones held RNG tensors) is
    read without touching its tensors, and nothing random is restored."""
    old_state = {'torch': torch.zeros(5056, dtype=torch.uint8,
                                      device=device)}
    checkpoint = {'rng_state': old_state, 'exact_resume': {'world_size': 2},
                  'meta': {'iter': 6}}
    hook = ExactResumeHook()
    hook.after_load_checkpoint(None, checkpoint)
    assert hook._saved == {'world_size': 2}
    saved = {}
    hook.before_save_checkpoint(fake_runner(loader=epoch_loader()), saved)
    assert saved == {'exact_resume': {'world_size': 1,
                                      'batches_per_epoch': 8}}  # no tensors


def epoch_loader(n=16, batch=2, workers=0):
    loader = mock.MagicMock()
    loader.num_workers = workers
    loader.batch_sampler = BatchSampler(SequentialSampler(range(n)), batch,
                                        drop_last=False)
    loader.__len__.return_value = n // batch
    return loader


@pytest.mark.parametrize('saved,iteration,skip,warned,restarts', [
    (dict(world_size=1, batches_per_epoch=8), 11, 6, False, False),
    (dict(world_size=2, batches_per_epoch=4), 7, 0, True, True),
    (dict(world_size=2, batches_per_epoch=4), 4, 0, True, False),
    ({}, 11, 6, False, False)])
def test_resume_on_another_number_of_processes(saved, iteration, skip,
                                               warned, restarts):
    """This run: 1 process, 8 batches per epoch. A checkpoint of epoch 2:
    written by 1 process 3 batches in, the epoch skips them; written by 2
    processes (4 batches per epoch) 3 batches in, it restarts, with a
    warning saying the run is not exact; at the end of epoch 1 of the
    2-process run, only the warning."""
    hook = ExactResumeHook()
    hook.after_load_checkpoint(None, {'exact_resume': saved})
    loader = epoch_loader()
    runner = fake_runner(iteration=iteration, epoch=1, loader=loader)
    hook.before_train_epoch(runner)
    assert loader.batch_sampler.sampler.skip == skip
    warnings = ' '.join(str(c) for c in runner.logger.warning.call_args_list)
    assert ('2-process run and this run has 1' in warnings) is warned
    assert ('restarts from its first batch' in warnings) is restarts


@pytest.mark.parametrize('skip,first', [(0, [0, 1, 2]), (3, [3, 4, 5]),
                                        (9, [9]), (12, None)])
def test_epoch_sampler_skips_once(skip, first):
    batches = BatchSampler(SequentialSampler(range(10)), 3, drop_last=False)
    original = batches.sampler
    batches.sampler = EpochSampler(batches, 5, skip=skip)
    assert len(batches) == 4  # the epoch length is unchanged
    got = list(batches)
    assert (got[0] if got else None) == first
    assert sum(len(b) for b in got) == max(0, 10 - skip)
    assert all(i.epoch == 5 for b in got for i in b)
    assert batches.sampler is original
    assert len(list(batches)) == 4  # the next epoch is whole again


@pytest.mark.parametrize('tag', [True, False])
def test_epoch_sampler_tags(tag):
    batches = BatchSampler(SequentialSampler(range(4)), 2, drop_last=False)
    batches.sampler = EpochSampler(batches, 2, tag=tag)
    got = list(batches)
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
    first = dataset[EpochIndex(3, 0)]
    draws()  # whatever happened in between
    assert dataset[EpochIndex(3, 0)] == first
    assert dataset[EpochIndex(3, 1)] != first  # another epoch
    assert dataset[EpochIndex(4, 0)] != first  # another sample
    torch.manual_seed(5), random.seed(5), np.random.seed(5)
    expected = draws()
    torch.manual_seed(5), random.seed(5), np.random.seed(5)
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


@pytest.mark.parametrize('workers', [0, 2])
def test_fetch_reseed_only_without_workers(workers):
    loader = epoch_loader(workers=workers)
    ExactResumeHook().before_train_epoch(fake_runner(loader=loader))
    sampler = loader.batch_sampler.sampler
    assert (sampler.before_batch is None) is bool(workers)


def test_main_process_draws_while_fetching_resume_exactly():
    """With num_workers=0 a batch is loaded in the main process, and
    whatever it draws there (mmengine's replacement for an image skipped by
    LoadImageSafely(skip_bad=True), an unseeded pipeline) comes from a
    stream reseeded per batch: a resumed epoch sees the same values."""

    def epoch(skip):
        dataset = NoisyDataset()  # draws from the main process's streams
        loader = DataLoader(dataset, batch_size=4, shuffle=False)
        first = skip // 4
        loader.batch_sampler.sampler = EpochSampler(
            loader.batch_sampler, 0, skip=skip, tag=False,
            before_batch=lambda j: seed_everything(
                iteration_seed(1, first + j, 0, 'fetch')))
        out = []
        for batch in loader:
            out.append([tuple(float(x) for x in row) for row in zip(*batch)])
            draws()  # the training step
        return out

    reference = epoch(0)
    draws()
    assert epoch(8) == reference[2:]


@pytest.mark.parametrize('workers,persistent', [(2, False), (2, True)])
def test_augmentation_does_not_depend_on_workers(workers, persistent):
    reference = epoch_values(0, False)
    assert reference[0] != reference[1]  # epochs differ
    assert epoch_values(workers, persistent) == reference
    # a resumed epoch (first 2 batches done) sees the same later samples
    resumed = epoch_values(workers, persistent, skip=8)
    assert resumed[0] == reference[0][8:] and resumed[1] == reference[1]
