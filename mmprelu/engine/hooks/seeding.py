"""Random streams that do not depend on how data loading is scheduled, on
where a run was resumed, or on the process.

Pieces of :class:`~mmprelu.engine.hooks.ExactResumeHook`:

* :func:`iteration_seed`: the main process's python, numpy and torch (CPU
  and every CUDA device) generators are reseeded before each training
  iteration, from ``(run seed, iteration, rank)``, and, for what the main
  process draws while it fetches a batch itself (``num_workers=0``: e.g.
  mmengine's replacement index for an image ``LoadImageSafely(skip_bad=True)``
  skipped), before each batch is fetched. The stream of any
  iteration on any rank is then a function of those three numbers: nothing
  needs to be saved in a checkpoint or restored (so a checkpoint mapped onto
  ``cuda`` or ``meta`` cannot break it), every rank gets its own stream
  (dropout masks differ across ranks; mmengine's default seeds every rank
  alike), and a resumed run on any number of processes continues the
  streams it would have had. Cost: 0.28 ms per reseed, measured on our
  2-core CPU while other jobs kept it busy (most of it mixing the seed).
* Per-sample seeding. Which dataloader worker loads a sample, and what that
  worker loaded before, depends on ``num_workers``, on whether the workers
  are persistent and on where an epoch was resumed. To make the random
  augmentation of a sample independent of all that, the training sampler
  yields :class:`EpochIndex` values (an ``int`` that also carries the epoch)
  and :class:`SampleSeededPipeline` runs the dataset's pipeline with python,
  numpy and torch seeded from ``(run seed, epoch, sample index)``, restoring
  the caller's RNG states afterwards (so the main process's stream, used by
  dropout, is untouched when ``num_workers=0``). mmengine's ``BaseDataset``
  passes the index on as ``results['sample_idx']``, which is where the
  pipeline wrapper reads it; indices without an epoch (validation, test, any
  sampler we did not wrap) run the pipeline unseeded, as before. Cost:
  about 0.08 ms per sample on our 2-core CPU (saving, seeding and restoring
  the three generators), against several ms to decode and resize one
  ImageNet JPEG.
* :class:`EpochSampler`: stands in for a batch sampler's ``sampler`` for one
  epoch: skips the batches a resumed epoch already trained on, tags indices
  with the epoch, and reseeds before each batch is fetched.
"""
import contextlib
import random
from typing import Callable, Iterator, Optional

import numpy as np
import torch

__all__ = [
    'EpochIndex', 'EpochSampler', 'SampleSeededPipeline', 'iteration_seed',
    'sample_seed', 'seed_everything'
]


def seed_everything(seed: int) -> None:
    """Seed python, numpy, torch's CPU generator and, once CUDA is in use,
    every CUDA device's. (``torch.manual_seed`` costs ~1.7 ms on a CUDA
    build of torch without a GPU, against ~0.05 ms for this.)"""
    random.seed(seed)
    np.random.seed(seed)
    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_initialized():
        torch.cuda.manual_seed_all(seed)


def _mix(*values: int) -> int:
    return int(np.random.SeedSequence([v % 2**32 for v in values])
               .generate_state(1)[0])


_STAGES = {'step': 0x17E4, 'fetch': 0xFE7C}


def iteration_seed(seed: int, iteration: int, rank: int,
                   stage: str = 'step') -> int:
    """A 32-bit seed for the main process of ``rank`` before it fetches
    (``stage='fetch'``) or runs (``'step'``) the batch of training
    ``iteration`` (0-based, counted over the run)."""
    return _mix(seed, iteration, rank, _STAGES[stage])


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 32-bit seed for one sample's augmentation in one epoch."""
    return _mix(seed, epoch, index, 0x5EED)


@contextlib.contextmanager
def _own_cpu_rng_states():
    """Run a block with python/numpy/torch-CPU states restored after it."""
    py, npy, pt = random.getstate(), np.random.get_state(), \
        torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(npy)
        torch.set_rng_state(pt)


class EpochIndex(int):
    """A dataset index (an ``int``) that also carries its ``epoch``."""

    epoch: int

    def __new__(cls, index: int, epoch: int):
        obj = super().__new__(cls, index)
        obj.epoch = int(epoch)
        return obj

    def __reduce__(self):  # crosses the worker queues intact
        return EpochIndex, (int(self), self.epoch)

    def __repr__(self) -> str:
        return int.__repr__(self)


class SampleSeededPipeline:
    """Wraps a dataset's ``pipeline`` callable: see the module docstring.

    Args:
        pipeline (callable): the dataset's pipeline (mmengine ``Compose``).
        seed (int): the run seed (``runner.seed``).
    """

    def __init__(self, pipeline, seed: int) -> None:
        self.pipeline = pipeline
        self.seed = int(seed)

    def __call__(self, results: dict):
        index = results.get('sample_idx', None)
        epoch = getattr(index, 'epoch', None)
        if epoch is None:
            return self.pipeline(results)
        seed = sample_seed(self.seed, epoch, int(index))
        with _own_cpu_rng_states():
            # CPU generators only: transforms run on CPU, and
            # torch.manual_seed (which also seeds every accelerator) costs
            # ~5x more per sample
            random.seed(seed)
            np.random.seed(seed)
            torch.default_generator.manual_seed(seed)
            return self.pipeline(results)

    def __getattr__(self, name):  # .transforms etc. of the wrapped Compose
        if name == 'pipeline':  # not set yet (unpickling)
            raise AttributeError(name)
        return getattr(self.pipeline, name)

    def __repr__(self) -> str:
        return f'SampleSeededPipeline(seed={self.seed}, {self.pipeline!r})'


class EpochSampler:
    """One epoch's stand-in for ``batch_sampler.sampler``.

    Args:
        batch_sampler: the train dataloader's batch sampler; its original
            ``sampler`` is put back as soon as this epoch's indices start.
        epoch (int): the epoch (0-based) the indices are tagged with.
        skip (int): indices already trained on (a mid-epoch resume).
        tag (bool): yield :class:`EpochIndex` instead of plain ints.
        before_batch (callable, optional): called with ``j`` before the
            first index of the ``j``-th batch (0-based, after the skipped
            ones) is drawn, i.e. just before that batch is fetched when the
            main process loads it.
    """

    def __init__(self, batch_sampler, epoch: int, skip: int = 0,
                 tag: bool = True,
                 before_batch: Optional[Callable[[int], None]] = None) -> None:
        self.batch_sampler = batch_sampler
        self.original = batch_sampler.sampler
        self.epoch = int(epoch)
        self.skip = int(skip)
        self.tag = bool(tag)
        self.before_batch = before_batch

    def __len__(self) -> int:
        return len(self.original)

    def __getattr__(self, name):  # set_epoch etc. of the original sampler
        if name == 'original':
            raise AttributeError(name)
        return getattr(self.original, name)

    def __iter__(self) -> Iterator[int]:
        self.batch_sampler.sampler = self.original  # one epoch only
        indices = iter(self.original)
        for _ in range(self.skip):
            if next(indices, None) is None:
                break
        if not self.tag and self.before_batch is None:
            return indices
        return self._indices(indices)

    def _indices(self, indices) -> Iterator[int]:
        size = self.batch_sampler.batch_size
        for k, index in enumerate(indices):
            if self.before_batch is not None and k % size == 0:
                self.before_batch(k // size)
            yield EpochIndex(index, self.epoch) if self.tag else index
