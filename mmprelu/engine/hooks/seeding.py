"""Random streams that do not depend on how data loading is scheduled, on
where a run was resumed, or on the process.

Pieces of :class:`~mmprelu.engine.hooks.ExactResumeHook`:

* :func:`iteration_seed`: the main process's python, numpy and torch (CPU
  and every CUDA device) generators are reseeded before each training
  iteration, from ``(run seed, iteration, rank)``, and, for what the main
  process draws while it fetches a batch itself (``num_workers=0``: e.g.
  mmengine's replacement index for an image
  ``LoadImageSafely(ignore_empty=True)`` skipped), before each batch is
  fetched. The stream of any
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
  (:class:`~mmprelu.datasets.samplers.ExactResumeSampler`) yields
  :class:`~mmprelu.datasets.samplers.EpochIndex` values (an ``int`` that
  also carries the epoch) and :class:`SampleSeededPipeline` runs the
  dataset's pipeline with python, numpy and torch seeded from
  ``(run seed, epoch, sample index)``, restoring the caller's RNG states
  afterwards (so the main process's stream, used by dropout, is untouched
  when ``num_workers=0``). mmengine's ``BaseDataset`` passes the index on as
  ``results['sample_idx']``, which is where the pipeline wrapper reads it;
  indices without an epoch (validation, test, any other sampler) run the
  pipeline unseeded, as before. Cost: about 0.08 ms per sample on our 2-core
  CPU (saving, seeding and restoring the three generators), against several
  ms to decode and resize one ImageNet JPEG.
"""
import contextlib
import random

import numpy as np
import torch

__all__ = [
    'SampleSeededPipeline', 'iteration_seed', 'sample_seed', 'seed_everything'
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
    return int(
        np.random.SeedSequence([v % 2**32
                                for v in values]).generate_state(1)[0])


_STAGES = {'step': 0x17E4, 'fetch': 0xFE7C}


def iteration_seed(seed: int,
                   iteration: int,
                   rank: int,
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
