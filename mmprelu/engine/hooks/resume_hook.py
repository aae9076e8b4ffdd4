"""Bit-exact resume of an interrupted training run (issue 6).

What mmengine 0.10.7 restores on ``--resume``: weights (PReLU slopes
included), optimizer state (momentum buffers), param schedulers (the plateau
state too), the message hub, the epoch/iteration counters and the seed. What
it does not: the python/numpy/torch RNG states, the dataloader workers'
random streams, and the position inside an epoch (``EpochBasedTrainLoop``
restarts the epoch from its first batch, so an iteration checkpoint taken
mid-epoch replays batches). ``ExactResumeHook`` adds them, so that a run
killed at any iteration and resumed from an iteration checkpoint ends with
the same weights, bit for bit, as an uninterrupted run (deterministic ops,
same number of threads), with or without dataloader workers, persistent or
not:

1. Each training epoch's random stream in the main process (dropout) starts
   from a seed mixed from ``(runner.seed, epoch)``, applied when the epoch's
   indices are drawn. A resume at an epoch boundary needs no stored state,
   and whatever ran in between (validation, a new worker pool drawing its
   base seed) cannot shift it.
2. Each training sample is augmented with python/numpy/torch seeded from
   ``(runner.seed, epoch, sample index)`` (``seed_per_sample``, see
   :mod:`mmprelu.engine.hooks.seeding`), so its augmentation does not depend
   on which worker loads it, on what that worker loaded before, or on
   ``num_workers``: a run with 8 workers augments exactly like one with 0.
3. Every checkpoint stores the main process's RNG states of that moment
   under ``checkpoint['rng_state']``, in plain types and tensors, so the
   file stays loadable with ``torch.load(weights_only=True)``.
4. On resume from a checkpoint taken ``n`` batches into an epoch, that
   epoch's sampler still draws the epoch's full, seeded order but skips the
   first ``n`` batches, and the stored RNG states are restored when the
   epoch starts, i.e. at the same point of the stream as in the
   uninterrupted run.

Steps 1, 2 and 4 apply to ``EpochBasedTrainLoop`` (all our configs) with a
batch sampler; ``IterBasedTrainLoop`` skips consumed batches itself, and only
step 3 then applies (its RNG states are not restored). Step 2 needs the
train dataset (or the datasets inside a Concat/Repeat/ClassBalanced wrapper)
to have a ``pipeline`` (every mmengine ``BaseDataset``); otherwise the hook
warns and workers keep mmengine's own per-worker seeding.
"""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmprelu.registry import HOOKS
from .seeding import (EpochSampler, SampleSeededPipeline, epoch_seed,
                      get_rng_state, seed_everything, set_rng_state)

__all__ = ['ExactResumeHook', 'get_rng_state', 'set_rng_state']

RNG_KEY = 'rng_state'


def _datasets_with_pipeline(dataset, depth: int = 0):
    """The datasets that own a ``pipeline``, looking inside mmengine's
    dataset wrappers (``dataset`` / ``datasets`` attributes)."""
    if depth > 8:
        return []
    if hasattr(dataset, 'pipeline'):
        return [dataset]
    found = []
    inner = getattr(dataset, 'datasets', None)
    if inner is None and hasattr(dataset, 'dataset'):
        inner = [dataset.dataset]
    for item in inner or []:
        found += _datasets_with_pipeline(item, depth + 1)
    return found


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Store and restore RNG states and the in-epoch position, and seed
    every training sample on its own (see the module docstring).

    Args:
        reseed_every_epoch (bool): step 1 above. Defaults to True; without
            it only resumes from iteration checkpoints taken mid-epoch are
            exact.
        seed_per_sample (bool): step 2 above. Defaults to True; without it
            a mid-epoch resume with dataloader workers is not exact (workers
            restart their streams and batches map to other workers).
    """

    priority = 'NORMAL'  # before WeightsOnlyCheckpointHook (LOWEST)

    def __init__(self, reseed_every_epoch: bool = True,
                 seed_per_sample: bool = True) -> None:
        self.reseed_every_epoch = bool(reseed_every_epoch)
        self.seed_per_sample = bool(seed_per_sample)
        self._loaded: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[RNG_KEY] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # also called for load_from; used only if the iteration counter
        # shows a resume mid-epoch (see before_train_epoch)
        self._loaded = checkpoint.get(RNG_KEY, None)

    def before_train(self, runner) -> None:
        if not self.seed_per_sample or runner.seed is None:
            return
        datasets = _datasets_with_pipeline(runner.train_loop.dataloader.dataset)
        if not datasets:
            runner.logger.warning(
                'ExactResumeHook: the train dataset has no pipeline to seed '
                'per sample; with dataloader workers a mid-epoch resume is '
                'not exact')
        for dataset in datasets:
            if not isinstance(dataset.pipeline, SampleSeededPipeline):
                dataset.pipeline = SampleSeededPipeline(dataset.pipeline,
                                                        runner.seed)

    def before_train_epoch(self, runner) -> None:
        seed = None
        if self.reseed_every_epoch and runner.seed is not None:
            seed = epoch_seed(runner.seed, runner.epoch)
        loaded, self._loaded = self._loaded, None
        loader = runner.train_loop.dataloader
        batch_sampler = getattr(loader, 'batch_sampler', None)
        if not isinstance(runner.train_loop, EpochBasedTrainLoop) or \
                batch_sampler is None or \
                not hasattr(batch_sampler, 'sampler'):
            # IterBasedTrainLoop advances its own iterator on resume
            if seed is not None:
                seed_everything(seed)
            if isinstance(runner.train_loop, EpochBasedTrainLoop) and \
                    runner.iter % len(loader):
                runner.logger.warning(
                    f'ExactResumeHook: the train dataloader has no batch '
                    f'sampler; the resumed epoch {runner.epoch + 1} restarts '
                    f'from its first batch')
            return
        consumed = max(0, runner.iter - runner.epoch * len(loader))
        if consumed and loaded is None:
            runner.logger.warning(
                'ExactResumeHook: the checkpoint has no RNG states (saved '
                'without this hook); data order resumes exactly but random '
                'augmentation does not')
        batch_sampler.sampler = EpochSampler(
            batch_sampler, runner.epoch,
            skip=consumed * batch_sampler.batch_size,
            rng_state=loaded if consumed else None, reseed=seed,
            tag=self.seed_per_sample)
        if consumed:
            runner.logger.info(
                f'ExactResumeHook: epoch {runner.epoch + 1} resumes after '
                f'{consumed} of its {len(loader)} batches')
