"""Bit-exact resume of an interrupted training run (issues 6, 14 and 17).

What mmengine 0.10.7 restores on ``--resume``: weights (PReLU slopes
included), optimizer state (momentum buffers), param schedulers (the plateau
state too), the message hub, the epoch/iteration counters and the seed. What
it does not: the random streams of the main process and of the dataloader
workers, and the position inside an epoch (``EpochBasedTrainLoop`` restarts
the epoch from its first batch, so an iteration checkpoint taken mid-epoch
replays batches). ``ExactResumeHook`` adds them, so that a run killed at any
iteration, on any rank, and resumed from an iteration checkpoint ends with
the same weights, bit for bit, as an uninterrupted run with the same number
of processes (deterministic ops, same number of threads), with or without
dataloader workers, persistent or not:

1. Before each training iteration (``before_train_iter``: after its batch
   is fetched, before the data preprocessor and the model run), the main
   process's python/numpy/torch generators (CPU and CUDA) are reseeded from
   ``(runner.seed, iteration, rank)`` (:func:`~.seeding.iteration_seed`);
   so they are before each batch is fetched (by the epoch's sampler), for
   what the main process draws while it loads a batch itself.
   Nothing random is stored in a checkpoint: a resumed rank recomputes its
   stream, whatever device the checkpoint was mapped onto, and whatever ran
   in between (validation, a dataloader iterator drawing its workers' base
   seed, a resumed epoch's new iterator) cannot shift it.
2. Each training sample is augmented with python/numpy/torch seeded from
   ``(runner.seed, epoch, sample index)`` (``seed_per_sample``, see
   :mod:`mmprelu.engine.hooks.seeding`), so its augmentation does not depend
   on which worker loads it, on what that worker loaded before, or on
   ``num_workers``: a run with 8 workers augments exactly like one with 0.
3. On resume from a checkpoint taken ``n`` batches into an epoch, that
   epoch's sampler still draws the epoch's full, seeded order but skips each
   rank's first ``n`` batches.

Resuming on a different number of processes works but is not exact: each
process's share of an epoch differs, so a checkpoint taken mid-epoch
restarts that epoch from its first batch (the samples already seen are seen
again) and the batches, and so the updates, differ from the original run's.
The hook stores the writer's world size and batches per epoch
(``checkpoint['exact_resume']``) and logs this when it happens.

Steps 2 and 3 apply to ``EpochBasedTrainLoop`` (all our configs) with a
batch sampler; ``IterBasedTrainLoop`` skips consumed batches itself. Step 2
needs the train dataset (or the datasets inside a Concat/Repeat/
ClassBalanced wrapper) to have a ``pipeline`` (every mmengine
``BaseDataset``); otherwise the hook warns and workers keep mmengine's own
per-worker seeding.
"""
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmprelu.registry import HOOKS
from .seeding import (EpochSampler, SampleSeededPipeline, iteration_seed,
                      seed_everything)

__all__ = ['ExactResumeHook']

STATE_KEY = 'exact_resume'


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
    """Derive every random stream from the seed, the iteration, the rank and
    the sample, and resume inside an epoch (see the module docstring).

    Args:
        reseed_every_iter (bool): step 1 above. Defaults to True; without
            it the main process's stream continues from wherever the
            resumed process left it, and no resume is exact.
        seed_per_sample (bool): step 2 above. Defaults to True; without it
            a mid-epoch resume with dataloader workers is not exact (workers
            restart their streams and batches map to other workers).
    """

    priority = 'NORMAL'  # before WeightsOnlyCheckpointHook (LOWEST)

    def __init__(self, reseed_every_iter: bool = True,
                 seed_per_sample: bool = True) -> None:
        self.reseed_every_iter = bool(reseed_every_iter)
        self.seed_per_sample = bool(seed_per_sample)
        self._saved: dict = {}

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        try:
            batches = len(runner.train_dataloader)
        except TypeError:  # no train dataloader built
            batches = None
        checkpoint[STATE_KEY] = {'world_size': get_world_size(),
                                 'batches_per_epoch': batches}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # also called for load_from; only a resume reaches before_train_epoch
        # with a nonzero iteration
        state = checkpoint.get(STATE_KEY, None)
        self._saved = dict(state) if isinstance(state, dict) else {}

    def _reseed(self, runner, iteration: int, stage: str = 'step') -> None:
        if self.reseed_every_iter and runner.seed is not None:
            seed_everything(iteration_seed(runner.seed, iteration,
                                           get_rank(), stage))

    def before_train(self, runner) -> None:
        if not self.seed_per_sample or runner.seed is None:
            return
        datasets = _datasets_with_pipeline(
            runner.train_loop.dataloader.dataset)
        if not datasets:
            runner.logger.warning(
                'ExactResumeHook: the train dataset has no pipeline to seed '
                'per sample; with dataloader workers a mid-epoch resume is '
                'not exact')
        for dataset in datasets:
            if not isinstance(dataset.pipeline, SampleSeededPipeline):
                dataset.pipeline = SampleSeededPipeline(dataset.pipeline,
                                                        runner.seed)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._reseed(runner, runner.iter)

    def before_train_epoch(self, runner) -> None:
        saved, self._saved = self._saved, {}
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            return  # IterBasedTrainLoop advances its own iterator on resume
        loader = runner.train_loop.dataloader
        consumed = max(0, runner.iter - runner.epoch * len(loader))
        world_size = get_world_size()
        saved_size = saved.get('world_size', None)
        if runner.iter and saved_size is not None and \
                saved_size != world_size:
            batches = saved.get('batches_per_epoch', None) or len(loader)
            inside = runner.iter - runner.epoch * batches > 0
            runner.logger.warning(
                f'ExactResumeHook: the checkpoint was written by a '
                f'{saved_size}-process run and this run has {world_size} '
                f'processes, so the run is not bit-exact to the original '
                f'one: each process\'s share of an epoch and each update\'s '
                f'batches differ'
                + (f'; epoch {runner.epoch + 1} restarts from its first '
                   f'batch (the position inside it does not carry over)'
                   if inside else ''))
            consumed = 0
        batch_sampler = getattr(loader, 'batch_sampler', None)
        if batch_sampler is None or not hasattr(batch_sampler, 'sampler'):
            if consumed:
                runner.logger.warning(
                    f'ExactResumeHook: the train dataloader has no batch '
                    f'sampler; the resumed epoch {runner.epoch + 1} restarts '
                    f'from its first batch')
            return
        first = runner.iter  # the iteration of this epoch's next batch
        fetch_seed = None  # workers draw from their own streams
        if not getattr(loader, 'num_workers', 0):
            def fetch_seed(j):
                self._reseed(runner, first + j, 'fetch')
        batch_sampler.sampler = EpochSampler(
            batch_sampler, runner.epoch,
            skip=consumed * batch_sampler.batch_size,
            tag=self.seed_per_sample, before_batch=fetch_seed)
        if consumed:
            runner.logger.info(
                f'ExactResumeHook: epoch {runner.epoch + 1} resumes after '
                f'{consumed} of its {len(loader)} batches')
