"""Random streams that do not depend on how data loading is scheduled.

Pieces of :class:`~mmprelu.engine.hooks.ExactResumeHook`:

* :func:`get_rng_state` / :func:`set_rng_state`: the python, numpy and torch
  RNG states in plain types and tensors (loadable with
  ``torch.load(weights_only=True)``).
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
  epoch: reseeds (or restores the RNG states of a mid-epoch checkpoint) at
  the moment the epoch's indices are drawn, skips the batches a resumed
  epoch already trained on, and tags indices with the epoch.
"""
import contextlib
import random
from typing import Iterator, Optional

import numpy as np
import torch

__all__ = [
    'EpochIndex', 'EpochSampler', 'SampleSeededPipeline', 'epoch_seed',
    'get_rng_state', 'sample_seed', 'seed_everything', 'set_rng_state'
]


def get_rng_state() -> dict:
    """RNG states of python, numpy and torch in plain types and tensors."""
    name, key, pos, has_gauss, gauss = np.random.get_state()
    state = {
        'python': random.getstate(),
        'numpy': {'name': str(name),
                  'key': torch.from_numpy(key.astype(np.int64)),
                  'pos': int(pos), 'has_gauss': int(has_gauss),
                  'cached_gaussian': float(gauss)},
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`get_rng_state`."""
    version, internal, gauss_next = state['python']
    random.setstate((version, tuple(internal), gauss_next))
    npy = state['numpy']
    np.random.set_state((npy['name'],
                         npy['key'].numpy().astype(np.uint32), npy['pos'],
                         npy['has_gauss'], npy['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _mix(*values: int) -> int:
    return int(np.random.SeedSequence([v % 2**32 for v in values])
               .generate_state(1)[0])


def epoch_seed(seed: int, epoch: int) -> int:
    """A 32-bit seed mixed from the run seed and the epoch."""
    return _mix(seed, epoch)


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
        rng_state (dict, optional): RNG states to restore when the epoch
            starts (from a mid-epoch checkpoint).
        reseed (int, optional): seed to apply when the epoch starts if
            there is no ``rng_state``.
        tag (bool): yield :class:`EpochIndex` instead of plain ints.
    """

    def __init__(self, batch_sampler, epoch: int, skip: int = 0,
                 rng_state: Optional[dict] = None,
                 reseed: Optional[int] = None, tag: bool = True) -> None:
        self.batch_sampler = batch_sampler
        self.original = batch_sampler.sampler
        self.epoch = int(epoch)
        self.skip = int(skip)
        self.rng_state = rng_state
        self.reseed = reseed
        self.tag = bool(tag)

    def __len__(self) -> int:
        return len(self.original)

    def __getattr__(self, name):  # set_epoch etc. of the original sampler
        if name == 'original':
            raise AttributeError(name)
        return getattr(self.original, name)

    def __iter__(self) -> Iterator[int]:
        self.batch_sampler.sampler = self.original  # one epoch only
        if self.rng_state is not None:
            set_rng_state(self.rng_state)
        elif self.reseed is not None:
            seed_everything(self.reseed)
        indices = iter(self.original)
        for _ in range(self.skip):
            if next(indices, None) is None:
                break
        if not self.tag:
            return indices
        return (EpochIndex(i, self.epoch) for i in indices)
