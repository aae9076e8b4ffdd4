"""SafeCheckpointHook: atomic checkpoint and last_checkpoint writes, the
oldest checkpoint deleted only after the new one is in place;
IterCheckpointHook: iteration checkpoints every K iterations beside the
epoch ones, in the same Runner as mmengine's or our epoch hook."""
import os
import uuid

import pytest
import torch
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner

import mmprelu  # noqa: F401  (registers the hook)
from mmprelu.engine import load_checkpoint_safely
from mmprelu.engine.checkpoint_files import checkpoint_problem
from mmprelu.engine.hooks import IterCheckpointHook
from toy_model import Toy


def make_runner(work_dir,
                max_epochs=2,
                iters=None,
                resume=False,
                **checkpoint):
    """4 iterations per epoch; ``iters``: the IterCheckpointHook's
    arguments (none: no such hook)."""
    data = [
        dict(inputs=torch.randn(3), labels=torch.tensor(i % 2))
        for i in range(8)
    ]
    checkpoint.setdefault('interval', 1)
    checkpoint.setdefault('type', 'SafeCheckpointHook')
    hooks = dict(checkpoint=checkpoint)
    if iters is not None:
        hooks['iter_checkpoint'] = dict(type='IterCheckpointHook', **iters)
    return Runner(
        model=Toy(),
        work_dir=str(work_dir),
        experiment_name=f'safe_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=data,
            batch_size=2,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=hooks,
        default_scope='mmpretrain',
        resume=resume)


def pth_files(work_dir):
    return sorted(f for f in os.listdir(work_dir) if f.endswith('.pth'))


@pytest.mark.parametrize('epoch_hook',
                         ['SafeCheckpointHook', 'CheckpointHook'])
def test_iteration_checkpoints_beside_epoch_ones(tmp_path, epoch_hook):
    make_runner(
        tmp_path, type=epoch_hook, iters=dict(interval=3,
                                              max_keep_ckpts=2)).train()
    # iterations 3 and 6 mid-epoch; 4 and 8 end epochs whose checkpoint
    # the epoch hook saves: not saved twice
    assert pth_files(tmp_path) == [
        'epoch_1.pth', 'epoch_2.pth', 'iter_3.pth', 'iter_6.pth'
    ]
    meta = load_checkpoint_safely(tmp_path / 'iter_6.pth')['meta']
    assert (meta['epoch'], meta['iter']) == (1, 6)  # 1 epoch done
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path /
                                                             'epoch_2.pth')
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.part')]


def test_epoch_end_saved_when_no_epoch_checkpoint_is_due(tmp_path):
    make_runner(
        tmp_path, max_epochs=3, interval=2, iters=dict(interval=4)).train()
    # epoch 1 ends at iteration 4 with no epoch checkpoint due; 8 and 12
    # end epochs 2 (interval) and 3 (save_last)
    assert pth_files(tmp_path) == ['epoch_2.pth', 'epoch_3.pth', 'iter_4.pth']


def test_never_by_default(tmp_path):
    make_runner(tmp_path, max_epochs=1, iters=dict()).train()
    assert pth_files(tmp_path) == ['epoch_1.pth']


def test_each_hook_keeps_its_own_checkpoints_across_a_resume(tmp_path):
    """Each hook lists its kept steps under its own message-hub key, so
    neither prunes the other's files, before or after a resume."""
    iters = dict(interval=1, max_keep_ckpts=2)
    make_runner(tmp_path, max_keep_ckpts=1, iters=iters).train()
    assert pth_files(tmp_path) == ['epoch_2.pth', 'iter_6.pth', 'iter_7.pth']
    hub = load_checkpoint_safely(tmp_path / 'epoch_2.pth')['message_hub']
    info = hub['runtime_info']
    assert (info['keep_ckpt_ids'], info['keep_iter_ckpt_ids']) == ([2], [6, 7])
    for name in pth_files(tmp_path):
        assert checkpoint_problem(str(tmp_path / name)) is None
    resumed = make_runner(
        tmp_path,
        max_epochs=3,
        max_keep_ckpts=2,
        iters=dict(interval=1, max_keep_ckpts=1),
        resume=True)
    resumed.train()
    assert pth_files(tmp_path) == ['epoch_2.pth', 'epoch_3.pth', 'iter_11.pth']


def test_by_epoch_is_refused():
    with pytest.raises(ValueError, match='by_epoch must be False'):
        IterCheckpointHook(interval=10, by_epoch=True)


def test_old_checkpoint_deleted_after_the_new_one_is_written(
        tmp_path, monkeypatch):
    seen = []
    save = Runner.save_checkpoint

    def spy(runner, out_dir, filename, *args, **kwargs):
        seen.append((filename, pth_files(tmp_path)))
        return save(runner, out_dir, filename, *args, **kwargs)

    monkeypatch.setattr(Runner, 'save_checkpoint', spy)
    make_runner(tmp_path, max_epochs=3, max_keep_ckpts=1).train()
    assert seen == [('epoch_1.pth.part', []),
                    ('epoch_2.pth.part', ['epoch_1.pth']),
                    ('epoch_3.pth.part', ['epoch_2.pth'])]
    assert pth_files(tmp_path) == ['epoch_3.pth']


def test_interrupted_write_leaves_previous_checkpoint(tmp_path, monkeypatch):
    """A write that dies half-way (a kill, here an exception after half
    the bytes) leaves only a .part file; last_checkpoint still names the
    previous, complete checkpoint; the next run removes the .part file."""
    put = LocalBackend.put
    calls = []

    def dies_on_second(self, obj, filepath):
        calls.append(filepath)
        if len(calls) == 2:
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            raise KeyboardInterrupt('killed while writing')
        return put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        make_runner(tmp_path).train()
    assert calls[1].endswith('epoch_2.pth.part')
    assert pth_files(tmp_path) == ['epoch_1.pth']
    assert (tmp_path / 'epoch_2.pth.part').is_file()
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path /
                                                             'epoch_1.pth')
    monkeypatch.setattr(LocalBackend, 'put', put)
    make_runner(tmp_path, max_epochs=1).train()  # nothing to train
    assert not (tmp_path / 'epoch_2.pth.part').exists()


def test_mmengine_still_saves_through_the_adapted_method():
    """SafeCheckpointHook overrides CheckpointHook._save_checkpoint_with_step
    (private): fail loudly if mmengine renames it or stops calling it."""
    assert callable(
        getattr(CheckpointHook, '_save_checkpoint_with_step', None))
    for caller in (CheckpointHook._save_checkpoint,
                   CheckpointHook._save_best_checkpoint):
        assert '_save_checkpoint_with_step' in caller.__code__.co_names
