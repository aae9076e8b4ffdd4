"""The training sampler of bit-exact resume.

:class:`ExactResumeSampler` is mmengine's ``DefaultSampler`` (same order:
shuffled from ``seed + epoch``, each rank its own shard, ``round_up``; same
``set_epoch`` contract with ``DistSamplerSeedHook``) plus what exact resume
needs from the sampler, so that a config shows it
(``sampler=dict(type='ExactResumeSampler', shuffle=True)``) instead of a
hook replacing the sampler at run time:

* every index is an :class:`EpochIndex`, an ``int`` that carries its epoch
  through the dataloader's worker queues, from which
  ``ExactResumeHook`` seeds that sample's augmentation
  (``SampleSeededPipeline``, :mod:`mmprelu.engine.hooks.seeding`);
* :meth:`ExactResumeSampler.plan_next_epoch`, called by ``ExactResumeHook``
  before each epoch: skip the batches a resumed epoch already trained on,
  and call a function before each batch's first index is drawn (the hook
  reseeds the main process there when it loads batches itself).

Without the hook the sampler behaves like ``DefaultSampler`` (its indices
are still tagged; an untagged pipeline ignores the tag).
"""
import itertools
from typing import Callable, Iterator, NamedTuple, Optional, Sized

from mmengine.dataset import DefaultSampler

from mmprelu.registry import DATA_SAMPLERS

__all__ = ['EpochIndex', 'EpochPlan', 'ExactResumeSampler']


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


class EpochPlan(NamedTuple):
    """What the next iteration of an :class:`ExactResumeSampler` does.

    Attributes:
        batch_size (int): indices per batch (the batch sampler's).
        skip_batches (int): batches of this rank's share of the epoch that
            are not yielded (already trained on before a resume).
        before_batch (callable, optional): called with ``j`` before the
            first index of the ``j``-th yielded batch (0-based, after the
            skipped ones) is drawn, i.e. just before that batch is fetched
            when the main process loads it (``num_workers=0``).
    """

    batch_size: int
    skip_batches: int = 0
    before_batch: Optional[Callable[[int], None]] = None


@DATA_SAMPLERS.register_module()
class ExactResumeSampler(DefaultSampler):
    """``DefaultSampler`` whose epochs can start after a resume position and
    whose indices carry their epoch (see the module docstring).

    Args:
        dataset (Sized): the dataset (given by the Runner).
        shuffle (bool): shuffle from ``seed + epoch``. Defaults to True.
        seed (int, optional): the shuffle seed, identical on every rank
            (given by the Runner: ``randomness.seed``). Defaults to None
            (drawn on rank 0 and broadcast, as in ``DefaultSampler``).
        round_up (bool): pad the epoch so that every rank has as many
            indices (``DefaultSampler``'s meaning). Defaults to True.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        super().__init__(
            dataset, shuffle=shuffle, seed=seed, round_up=round_up)
        self.plan: Optional[EpochPlan] = None

    def plan_next_epoch(
            self,
            batch_size: int,
            skip_batches: int = 0,
            before_batch: Optional[Callable[[int], None]] = None) -> None:
        """Set the :class:`EpochPlan` of the next ``iter(sampler)`` only
        (one epoch; the epoch after it is whole again)."""
        if int(batch_size) < 1 or int(skip_batches) < 0:
            raise ValueError(
                f'ExactResumeSampler.plan_next_epoch: batch_size must be >= 1 '
                f'and skip_batches >= 0, got batch_size={batch_size}, '
                f'skip_batches={skip_batches}')
        self.plan = EpochPlan(int(batch_size), int(skip_batches), before_batch)

    def __iter__(self) -> Iterator[int]:
        plan, self.plan = self.plan, None  # taken now, not at the first next
        indices = super().__iter__()
        if plan is not None and plan.skip_batches:
            indices = itertools.islice(indices,
                                       plan.skip_batches * plan.batch_size,
                                       None)
        return self._tagged(indices, plan, self.epoch)

    @staticmethod
    def _tagged(indices, plan: Optional[EpochPlan],
                epoch: int) -> Iterator[int]:
        before_batch = plan.before_batch if plan is not None else None
        for k, index in enumerate(indices):
            if before_batch is not None and k % plan.batch_size == 0:
                before_batch(k // plan.batch_size)
            yield EpochIndex(index, epoch)
