"""ExactResumeHook pieces: per-iteration, per-rank seeds (CUDA included,
mocked), checkpoints mapped onto any device, a resume on another number of
processes, the epoch it plans on ExactResumeSampler, per-sample seeding, and
what it does with another sampler (the sampler itself:
tests/test_datasets/test_samplers.py; the end-to-end SIGKILL tests are
tests/test_tools/test_exact_resume.py and, with two processes,
test_elastic_train.py)."""
import random
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from torch.utils.data import BatchSampler, DataLoader, Dataset

from mmprelu.datasets.samplers import EpochIndex, ExactResumeSampler
from mmprelu.engine.hooks import ExactResumeHook, resume_hook
from mmprelu.engine.hooks.seeding import (SampleSeededPipeline, iteration_seed,
                                          seed_everything)


def draws():
    return (random.random(), float(np.random.rand()), np.random.randn(),
            float(torch.rand(1)))


@pytest.mark.parametrize('seed', [0, 7, 2**40 + 3])
def test_iteration_seed_differs_by_iteration_and_rank(seed):
    seeds = {
        (i, r): iteration_seed(seed, i, r)
        for i in range(5)
        for r in range(4)
    }
    assert seeds == {
        (i, r): iteration_seed(seed, i, r)
        for i in range(5)
        for r in range(4)
    }
    assert len(set(seeds.values())) == 20
    assert all(0 <= s < 2**32 for s in seeds.values())


def fake_runner(iteration=0,
                epoch=0,
                seed=3,
                loader=None,
                loop=EpochBasedTrainLoop):
    runner = mock.MagicMock()
    runner.seed, runner.iter, runner.epoch = seed, iteration, epoch
    runner.train_loop = mock.MagicMock(spec=loop)
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
    old_state = {'torch': torch.zeros(5056, dtype=torch.uint8, device=device)}
    checkpoint = {
        'rng_state': old_state,
        'exact_resume': {
            'world_size': 2
        },
        'meta': {
            'iter': 6
        }
    }
    hook = ExactResumeHook()
    hook.after_load_checkpoint(None, checkpoint)
    assert hook._saved == {'world_size': 2}
    saved = {}
    hook.before_save_checkpoint(fake_runner(loader=epoch_loader()), saved)
    assert saved == {
        'exact_resume': {
            'world_size': 1,
            'batches_per_epoch': 8
        }
    }  # no tensors


def epoch_loader(n=16,
                 batch=2,
                 workers=0,
                 sampler=ExactResumeSampler,
                 batch_sampler=BatchSampler):
    loader = mock.MagicMock()
    loader.num_workers = workers
    loader.dataset = NoisyDataset(n)
    loader.batch_sampler = batch_sampler(
        sampler(range(n), shuffle=False, seed=0), batch, drop_last=False)
    loader.__len__.return_value = n // batch
    return loader


def started(runner):
    """The hook as a run starts it: before_train, then the epoch."""
    hook = ExactResumeHook()
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    return hook


@pytest.mark.parametrize(
    'saved,iteration,skip,warned,restarts',
    [(dict(world_size=1, batches_per_epoch=8), 11, 6, False, False),
     (dict(world_size=2, batches_per_epoch=4), 7, 0, True, True),
     (dict(world_size=2, batches_per_epoch=4), 4, 0, True, False),
     ({}, 11, 6, False, False)])
def test_resume_on_another_number_of_processes(saved, iteration, skip, warned,
                                               restarts):
    """This run: 1 process, 8 batches per epoch. A checkpoint of epoch 2:
    written by 1 process 3 batches in, the epoch skips them; written by 2
    processes (4 batches per epoch) 3 batches in, it restarts, with a
    warning saying the run is not exact; at the end of epoch 1 of the
    2-process run, only the warning."""
    hook = ExactResumeHook()
    hook.after_load_checkpoint(None, {'exact_resume': saved})
    loader = epoch_loader()
    runner = fake_runner(iteration=iteration, epoch=1, loader=loader)
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    plan = loader.batch_sampler.sampler.plan
    assert plan.skip_batches * plan.batch_size == skip
    assert next(iter(loader.batch_sampler))[0] == skip  # shuffle=False
    warnings = ' '.join(str(c) for c in runner.logger.warning.call_args_list)
    assert ('2-process run and this run has 1' in warnings) is warned
    assert ('restarts from its first batch' in warnings) is restarts


class NoisyDataset(Dataset):
    """Each sample: one draw from python, numpy and torch."""

    def __init__(self, n=12):
        self.n = n
        self.pipeline = lambda results: dict(
            results,
            value=(random.random(), float(np.random.rand()),
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
    """``skip``: batches of 4 skipped in the first epoch (a resume)."""
    dataset = NoisyDataset()
    dataset.pipeline = SampleSeededPipeline(dataset.pipeline, seed=1)
    sampler = ExactResumeSampler(dataset, shuffle=False, seed=0)
    loader = DataLoader(
        dataset,
        batch_size=4,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=persistent and workers > 0)
    out = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)  # what DistSamplerSeedHook does
        sampler.plan_next_epoch(4, skip_batches=skip if epoch == 0 else 0)
        out.append([
            tuple(float(x) for x in row) for batch in loader
            for row in zip(*batch)
        ])
    return out


@pytest.mark.parametrize('workers', [0, 2])
def test_fetch_reseed_only_without_workers(workers):
    loader = epoch_loader(workers=workers)
    started(fake_runner(loader=loader))
    sampler = loader.batch_sampler.sampler
    assert (sampler.plan.before_batch is None) is bool(workers)


def test_main_process_draws_while_fetching_resume_exactly():
    """With num_workers=0 a batch is loaded in the main process, and
    whatever it draws there (mmengine's replacement for an image skipped by
    LoadImageSafely(ignore_empty=True), an unseeded pipeline) comes from a
    stream reseeded per batch: a resumed epoch sees the same values."""

    def epoch(skip):
        dataset = NoisyDataset()  # draws from the main process's streams
        sampler = ExactResumeSampler(dataset, shuffle=False, seed=0)
        loader = DataLoader(dataset, batch_size=4, sampler=sampler)
        first = skip // 4
        sampler.plan_next_epoch(
            4,
            skip_batches=first,
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
    resumed = epoch_values(workers, persistent, skip=2)
    assert resumed[0] == reference[0][8:] and resumed[1] == reference[1]


def warnings_of(runner):
    return [str(c) for c in runner.logger.warning.call_args_list]


def test_sampler_is_planned_and_pipeline_seeded():
    """With the configs' ExactResumeSampler the hook drives it and seeds
    the dataset's pipeline per sample, silently."""
    loader = epoch_loader()
    runner = fake_runner(loader=loader)
    started(runner)
    assert loader.batch_sampler.sampler.plan.batch_size == 2
    assert isinstance(loader.dataset.pipeline, SampleSeededPipeline)
    assert not warnings_of(runner)


class OtherBatchSampler(BatchSampler):
    """A batch sampler that may group indices its own way (e.g. mmdet's
    AspectRatioBatchSampler)."""


@pytest.mark.parametrize(
    'sampler,batch_sampler,message',
    [(DefaultSampler, BatchSampler,
      'train_dataloader.sampler is DefaultSampler, not ExactResumeSampler'),
     (ExactResumeSampler, OtherBatchSampler,
      "OtherBatchSampler, not torch's BatchSampler")])
def test_other_samplers_train_with_one_warning(sampler, batch_sampler,
                                               message):
    """A downstream DefaultSampler (or a batch sampler that may reorder
    indices): the hook plans nothing, warns once when training starts,
    and a mid-epoch resume restarts the epoch (warned); the per-iteration
    reseed still runs."""
    loader = epoch_loader(sampler=sampler, batch_sampler=batch_sampler)
    runner = fake_runner(iteration=11, epoch=1, loader=loader)
    hook = ExactResumeHook()
    hook.before_train(runner)
    assert [message in w for w in warnings_of(runner)] == [True]
    seeded = sampler is ExactResumeSampler  # tags: the pipeline seeds
    assert isinstance(loader.dataset.pipeline, SampleSeededPipeline) is seeded
    hook.before_train_epoch(runner)
    assert getattr(loader.batch_sampler.sampler, 'plan', None) is None
    assert 'epoch 2 restarts from its first batch (3 of its 8' in \
        warnings_of(runner)[-1]
    assert next(iter(loader.batch_sampler))[0] == 0  # the whole epoch
    assert len(warnings_of(runner)) == 2
    assert stream_of(0, 5) != stream_of(0, 6)


@pytest.mark.parametrize('sampler', [DefaultSampler, ExactResumeSampler])
def test_iter_based_loop_is_left_to_mmengine(sampler):
    """IterBasedTrainLoop replays consumed batches itself: no plan and no
    warning about the sampler, whichever it is."""
    loader = epoch_loader(sampler=sampler)
    runner = fake_runner(
        iteration=11, epoch=0, loader=loader, loop=IterBasedTrainLoop)
    started(runner)
    assert getattr(loader.batch_sampler.sampler, 'plan', None) is None
    assert not warnings_of(runner)
