"""Bit-exact resume of an interrupted training run.

What mmengine 0.10.7 restores on ``--resume``: weights (PReLU slopes
included), optimizer state (momentum buffers), param schedulers (the plateau
state too), the message hub, the epoch/iteration counters and the seed. What
it does not: the random streams of the main process and of the dataloader
workers, and the position inside an epoch (``EpochBasedTrainLoop`` restarts
the epoch from its first batch, so an iteration checkpoint taken mid-epoch
replays batches). Two pieces that the config names add them:
``train_dataloader.sampler=dict(type='ExactResumeSampler')``
(:mod:`mmprelu.datasets.samplers.exact_resume`) and this hook
(``default_hooks.exact_resume``). With both, a run killed at any iteration,
on any rank, and resumed from an iteration checkpoint ends with the same
weights, bit for bit, as an uninterrupted run with the same number of
processes (deterministic ops, same number of threads), with or without
dataloader workers, persistent or not:

1. Before each training iteration (``before_train_iter``: after its batch
   is fetched, before the data preprocessor and the model run), the main
   process's python/numpy/torch generators (CPU and CUDA) are reseeded from
   ``(runner.seed, iteration, rank)`` (:func:`~.seeding.iteration_seed`);
   so they are before each batch is fetched (through the sampler's
   ``before_batch``), for what the main process draws while it loads a
   batch itself (``num_workers=0``).
   Nothing random is stored in a checkpoint: a resumed rank recomputes its
   stream, whatever device the checkpoint was mapped onto, and whatever ran
   in between (validation, a dataloader iterator drawing its workers' base
   seed, a resumed epoch's new iterator) cannot shift it.
2. Each training sample is augmented with python/numpy/torch seeded from
   ``(runner.seed, epoch, sample index)`` (``seed_per_sample``, see
   :mod:`mmprelu.engine.hooks.seeding`): the sampler tags each index with
   its epoch, and the hook wraps the train dataset's ``pipeline`` in
   :class:`~.seeding.SampleSeededPipeline` before training starts. A
   sample's augmentation then does not depend on which worker loads it, on
   what that worker loaded before, or on ``num_workers``: a run with 8
   workers augments exactly like one with 0.
3. On resume from a checkpoint taken ``n`` batches into an epoch, the hook
   plans that epoch on the sampler
   (:meth:`~mmprelu.datasets.samplers.ExactResumeSampler.plan_next_epoch`):
   its full, seeded order, without each rank's first ``n`` batches.

Why step 2 stays a wrap in the hook rather than a dataset wrapper or a
transform that the config names: the seeding has to run
where the sample is loaded (in the worker), i.e. inside the dataset or its
pipeline, and both config forms cost users more than they show them:

* A registered dataset wrapper
  (``dataset=dict(type=..., dataset=dict(type='ImageNet', ...))``) moves
  every train dataset key one level down. ``train_dataloader.dataset``'s
  ``data_root``, ``pipeline`` and ``indices``, which our derived configs,
  the tested snippets of docs/downstream.md, the documented option
  ``train_dataloader.dataset.pipeline.0.ignore_empty=True`` and the key
  names of ``tools/train.py``'s config checks use, would then fail in every
  config that sets them. Its one possible gain, seeding mmengine's
  replacement draw for an image skipped by ``ignore_empty=True`` in a
  worker, is open to the pipeline wrapper as well (not done).
* A seeding transform in ``train_pipeline`` shifts the documented transform
  indices and is silently lost whenever a derived config replaces
  ``train_pipeline`` (as ``imagenet_bs16_short256`` and the digits config
  do).

Replacing ``dataset.pipeline`` from a hook is also how OpenMMLab changes a
running pipeline (mmdet's ``PipelineSwitchHook``). The wrapped pipeline runs
unchanged for indices without an epoch, and the hook wraps only when the
config's sampler tags them.

Resuming on a different number of processes works but is not exact: each
process's share of an epoch differs, so a checkpoint taken mid-epoch
restarts that epoch from its first batch (the samples already seen are seen
again) and the batches, and so the updates, differ from the original run's.
The hook stores the writer's world size and batches per epoch
(``checkpoint['exact_resume']``) and logs this when it happens.

With another sampler (e.g. mmengine's ``DefaultSampler`` in a downstream
config) training runs as with mmengine alone plus step 1, and the hook
warns once: a resume is not bit-exact (augmentation is not seeded per
sample, and the main process's stream is not reseeded before each batch it
fetches) and restarts an epoch interrupted mid-way from its first batch.
Step 3 and the per-batch reseed of step 1 apply to ``EpochBasedTrainLoop``
(all our configs) with torch's ``BatchSampler`` (the Runner's default; a
batch sampler that regroups indices, e.g. mmdet's
``AspectRatioBatchSampler``, is warned about once);
``IterBasedTrainLoop`` skips consumed batches itself. Step 2 needs the
train dataset (or the datasets inside a Concat/Repeat/ClassBalanced
wrapper) to have a ``pipeline`` (every mmengine ``BaseDataset``); otherwise
the hook warns and workers keep mmengine's own per-worker seeding.
"""
from mmengine.dist import get_rank, get_world_size
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import BatchSampler

from mmprelu.datasets.samplers import ExactResumeSampler
from mmprelu.registry import HOOKS
from .seeding import SampleSeededPipeline, iteration_seed, seed_everything
from .switchable import SwitchableHook

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


def _sampler_of(loader):
    batch_sampler = getattr(loader, 'batch_sampler', None)
    if batch_sampler is not None:
        return getattr(batch_sampler, 'sampler', None)
    return getattr(loader, 'sampler', None)


@HOOKS.register_module()
class ExactResumeHook(SwitchableHook):
    """Derive every random stream from the seed, the iteration, the rank and
    the sample, and resume inside an epoch, together with the config's
    ``ExactResumeSampler`` (see the module docstring).

    Args:
        reseed_every_iter (bool): step 1 above. Defaults to True; without
            it the main process's stream continues from wherever the
            resumed process left it, and no resume is exact.
        seed_per_sample (bool): step 2 above. Defaults to True; without it
            a mid-epoch resume with dataloader workers is not exact (workers
            restart their streams and batches map to other workers).
        enable (bool): ``False`` switches exact resume off: nothing is
            reseeded, wrapped or planned, and the config's
            ``ExactResumeSampler`` then draws ``DefaultSampler``'s order
            (mmengine's resume alone). Defaults to True.
    """

    priority = 'NORMAL'  # before WeightsOnlyCheckpointHook (LOWEST)

    def __init__(self,
                 reseed_every_iter: bool = True,
                 seed_per_sample: bool = True,
                 enable: bool = True) -> None:
        super().__init__(enable)
        self.reseed_every_iter = bool(reseed_every_iter)
        self.seed_per_sample = bool(seed_per_sample)
        self._saved: dict = {}
        self._sampler = None  # the ExactResumeSampler this hook drives

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        try:
            batches = len(runner.train_dataloader)
        except TypeError:  # no train dataloader built
            batches = None
        checkpoint[STATE_KEY] = {
            'world_size': get_world_size(),
            'batches_per_epoch': batches
        }

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # also called for load_from; only a resume reaches before_train_epoch
        # with a nonzero iteration
        state = checkpoint.get(STATE_KEY, None)
        self._saved = dict(state) if isinstance(state, dict) else {}

    def _reseed(self, runner, iteration: int, stage: str = 'step') -> None:
        if self.reseed_every_iter and runner.seed is not None:
            seed_everything(
                iteration_seed(runner.seed, iteration, get_rank(), stage))

    def before_train(self, runner) -> None:
        loader = runner.train_loop.dataloader
        sampler = _sampler_of(loader)
        by_epoch = isinstance(runner.train_loop, EpochBasedTrainLoop)
        if not isinstance(sampler, ExactResumeSampler):
            self._sampler = None
            if by_epoch:
                runner.logger.warning(
                    f'ExactResumeHook: train_dataloader.sampler is '
                    f'{type(sampler).__name__}, not ExactResumeSampler: '
                    f'training runs, but a resume is not bit-exact '
                    f'(augmentation is not seeded per sample) and restarts '
                    f'an epoch interrupted mid-way from its first batch. '
                    f"Use sampler=dict(type='ExactResumeSampler', "
                    f'shuffle=True) for an exact resume')
            return
        self._sampler = sampler
        batch_sampler = getattr(loader, 'batch_sampler', None)
        if by_epoch and type(batch_sampler) is not BatchSampler:
            runner.logger.warning(
                f'ExactResumeHook: the train batch sampler is '
                f'{type(batch_sampler).__name__}, not torch\'s BatchSampler: '
                f'a resumed epoch restarts from its first batch, and with '
                f'num_workers=0 the main process is not reseeded per batch')
        if not self.seed_per_sample or runner.seed is None:
            return
        datasets = _datasets_with_pipeline(loader.dataset)
        if not datasets:
            runner.logger.warning(
                'ExactResumeHook: the train dataset has no pipeline to seed '
                'per sample; with dataloader workers a mid-epoch resume is '
                'not exact')
        for dataset in datasets:
            if not isinstance(dataset.pipeline, SampleSeededPipeline):
                dataset.pipeline = SampleSeededPipeline(
                    dataset.pipeline, runner.seed)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
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
                f'batches differ' +
                (f'; epoch {runner.epoch + 1} restarts from its first '
                 f'batch (the position inside it does not carry over)'
                 if inside else ''))
            consumed = 0
        batch_sampler = getattr(loader, 'batch_sampler', None)
        if self._sampler is None or type(batch_sampler) is not BatchSampler:
            if consumed:
                runner.logger.warning(
                    f'ExactResumeHook: the resumed epoch {runner.epoch + 1} '
                    f'restarts from its first batch ({consumed} of its '
                    f'{len(loader)} batches were already trained on)')
            return
        first = runner.iter  # the iteration of this epoch's next batch

        # with workers, each draws from its own stream
        fetch_seed = None if getattr(loader, 'num_workers', 0) else (
            lambda j: self._reseed(runner, first + j, 'fetch'))

        self._sampler.plan_next_epoch(
            batch_sampler.batch_size,
            skip_batches=consumed,
            before_batch=fetch_seed)
        if consumed:
            runner.logger.info(
                f'ExactResumeHook: epoch {runner.epoch + 1} resumes after '
                f'{consumed} of its {len(loader)} batches')
