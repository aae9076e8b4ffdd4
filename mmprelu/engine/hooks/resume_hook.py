"""Bit-exact resume of an interrupted training run (issue 6).

What mmengine 0.10.7 restores on ``--resume``: weights (PReLU slopes
included), optimizer state (momentum buffers), param schedulers (the plateau
state too), the message hub, the epoch/iteration counters and the seed. What
it does not: the python/numpy/torch RNG states, and the position inside an
epoch (``EpochBasedTrainLoop`` restarts the epoch from its first batch, so an
iteration checkpoint taken mid-epoch replays batches). ``ExactResumeHook``
adds both, so that a run killed at any iteration and resumed from an
iteration checkpoint ends with the same weights, bit for bit, as an
uninterrupted run (deterministic ops, same number of threads):

1. At the start of every training epoch it reseeds python, numpy and torch
   from ``(runner.seed, epoch)``. Each epoch's random stream then starts from
   a known state: a resume at an epoch boundary needs no stored state, and
   whatever ran in between (validation draws from torch's generator to seed
   its loader) cannot shift it.
2. Every checkpoint stores the RNG states of that moment under
   ``checkpoint['rng_state']``, in plain types and tensors (python: the
   ``random.getstate()`` tuple; numpy: the MT19937 key as an int64 tensor and
   the position/gaussian fields; torch: the CPU generator's byte tensor and
   each CUDA device's), so the file stays loadable with
   ``torch.load(weights_only=True)``.
3. On resume from a checkpoint taken ``n`` batches into an epoch, the first
   epoch's batch sampler skips those ``n`` batches (the sampler itself
   still yields the epoch's full, seeded order) and the stored RNG states are
   restored right before the first remaining batch is drawn, i.e. at the
   same point of the random stream as in the uninterrupted run.

Dataloader workers: with ``num_workers=0`` (the test) all randomness is in
the main process and the resume is exact. With workers, mmengine seeds each
worker's numpy/python from ``seed + worker id`` and torch from a base seed
drawn at the start of the epoch (which step 1 makes identical after a
resume); a resume at an epoch boundary is then exact with non-persistent
workers, but mid-epoch it is not (workers restart their streams and batches
map to other workers). For exact mid-epoch resumes with workers, resume from
epoch checkpoints or train with ``num_workers=0``.

Steps 1 and 3 apply to ``EpochBasedTrainLoop`` (all our configs);
``IterBasedTrainLoop`` skips consumed batches itself, and only step 2 then
applies (its RNG states are not restored).
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmprelu.registry import HOOKS

__all__ = ['ExactResumeHook', 'get_rng_state', 'set_rng_state']

RNG_KEY = 'rng_state'


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


def epoch_seed(seed: int, epoch: int) -> int:
    """A 32-bit seed mixed from the run seed and the epoch."""
    return int(np.random.SeedSequence([seed % 2**32, epoch]).generate_state(
        1)[0])


class _ResumedSampler:
    """Stands in for a batch sampler's ``sampler`` for one epoch: restores
    the RNG states, then yields the epoch's indices after the first
    ``skip`` ones; afterwards puts the original sampler back."""

    def __init__(self, batch_sampler, skip: int, rng_state: Optional[dict]):
        self.batch_sampler = batch_sampler
        self.original = batch_sampler.sampler
        self.skip = skip
        self.rng_state = rng_state

    def __len__(self):
        return len(self.original)

    def __iter__(self):
        self.batch_sampler.sampler = self.original  # one epoch only
        if self.rng_state is not None:
            set_rng_state(self.rng_state)
        indices = iter(self.original)
        for _ in range(self.skip):
            if next(indices, None) is None:
                break
        return indices


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Store and restore RNG states and the in-epoch position (see the
    module docstring).

    Args:
        reseed_every_epoch (bool): step 1 above. Defaults to True; without
            it only resumes from iteration checkpoints taken mid-epoch are
            exact.
    """

    priority = 'NORMAL'  # before WeightsOnlyCheckpointHook (LOWEST)

    def __init__(self, reseed_every_epoch: bool = True) -> None:
        self.reseed_every_epoch = bool(reseed_every_epoch)
        self._loaded: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[RNG_KEY] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # also called for load_from; used only if the iteration counter
        # shows a resume mid-epoch (see before_train_epoch)
        self._loaded = checkpoint.get(RNG_KEY, None)

    def before_train_epoch(self, runner) -> None:
        if self.reseed_every_epoch and runner.seed is not None:
            seed_everything(epoch_seed(runner.seed, runner.epoch))
        loaded, self._loaded = self._loaded, None
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            return  # IterBasedTrainLoop advances its own iterator on resume
        loader = runner.train_loop.dataloader
        consumed = runner.iter - runner.epoch * len(loader)
        if consumed <= 0:
            return
        batch_sampler = getattr(loader, 'batch_sampler', None)
        if batch_sampler is None or not hasattr(batch_sampler, 'sampler'):
            runner.logger.warning(
                f'ExactResumeHook: the train dataloader has no batch '
                f'sampler; the resumed epoch {runner.epoch + 1} restarts '
                f'from its first batch')
            return
        if loaded is None:
            runner.logger.warning(
                'ExactResumeHook: the checkpoint has no RNG states (saved '
                'without this hook); data order resumes exactly but random '
                'augmentation does not')
        batch_sampler.sampler = _ResumedSampler(
            batch_sampler, consumed * batch_sampler.batch_size, loaded)
        runner.logger.info(
            f'ExactResumeHook: epoch {runner.epoch + 1} resumes after '
            f'{consumed} of its {len(loader)} batches')
