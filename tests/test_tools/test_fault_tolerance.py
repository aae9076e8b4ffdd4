"""Fault tolerance of tools/train.py: a diverging loss stops the
run and keeps the last good checkpoint; bad images are skipped on request
(or named in the error); an invalid config fails before anything is built.
"""
import shutil

import numpy as np
import torch
from PIL import Image

from fault_runner import fault_env, write_config
from tool_runner import CONFIG, check, python


def test_nan_loss_stops_and_keeps_last_checkpoint(tmp_path, options):
    config = write_config(tmp_path)
    work = tmp_path / 'work'
    proc = python(
        'train.py',
        config,
        '--work-dir',
        work,
        *options,
        'train_cfg.max_epochs=3',
        env=fault_env(nan_at_iter=3))  # epoch 2, first batch
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'TrainingDiverged' in out
    assert 'training diverged at iteration 3 (epoch 2, batch 1)' in out
    assert 'epoch_1.pth' in out.split('training diverged')[-1]
    assert (work / 'epoch_1.pth').is_file()
    assert not (work / 'epoch_2.pth').exists()
    state = torch.load(
        work / 'epoch_1.pth', map_location='cpu',
        weights_only=True)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values())


def test_too_large_lr_diverges_and_stops(tmp_path, options):
    """Epoch 1 trains at lr 0.005, then the schedule jumps
    to lr 1e4: the loss becomes NaN within epoch 2 and epoch_1.pth is kept.
    (With lr 1000 from the start, whether the loss became NaN before or
    after the first checkpoint depended on torch's kernels: at iteration 3
    on torch 2.1, 5 on 2.14.)"""
    work = tmp_path / 'work'
    proc = python(
        'train.py',
        CONFIG,
        '--work-dir',
        work,
        *options,
        'train_dataloader.dataset.indices=128',
        'optim_wrapper.optimizer.lr=0.005',
        'param_scheduler.milestones=[1]',
        'param_scheduler.gamma=2e6',
        'train_cfg.max_epochs=3',
        env=fault_env())
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'base_lr: 1.0000e+04' in out
    assert 'training diverged at iteration' in out
    assert f'{work / "epoch_1.pth"}, is kept unchanged' in out
    assert (work / 'epoch_1.pth').is_file()
    assert not (work / 'epoch_3.pth').exists()
    state = torch.load(
        work / 'epoch_1.pth', map_location='cpu',
        weights_only=True)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values())


def test_invalid_config_fails_before_building(tmp_path, options):
    proc = python('train.py', CONFIG, '--work-dir', tmp_path, *options,
                  'model.neck.levels=[8,3,2,1]')
    assert proc.returncode != 0
    assert 'model.neck.levels=(8, 3, 2, 1)' in proc.stderr
    assert 'Epoch(train)' not in proc.stdout + proc.stderr


def _bad_dataset(digits, root):
    """The first 16 training images of the digits data, 6 of them replaced
    by bad files, and 8 validation images."""
    lines = (digits / 'meta' / 'train.txt').read_text().splitlines()[:16]
    val = (digits / 'meta' / 'val.txt').read_text().splitlines()[:8]
    for split, entries in (('train', lines), ('val', val)):
        for entry in entries:
            name = entry.split()[0]
            (root / split / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(digits / split / name, root / split / name)
    (root / 'meta').mkdir()
    (root / 'meta' / 'train.txt').write_text('\n'.join(lines) + '\n')
    (root / 'meta' / 'val.txt').write_text('\n'.join(val) + '\n')
    files = [root / 'train' / line.split()[0] for line in lines]
    files[0].write_bytes(b'')  # zero bytes
    data = files[1].read_bytes()
    files[1].write_bytes(data[:len(data) // 2])  # truncated
    Image.new('CMYK', (64, 64), (10, 200, 30, 0)).save(files[2], 'JPEG')
    Image.fromarray(np.full((64, 64), 40000, np.uint16)).save(files[3], 'PNG')
    Image.new('RGB', (4000, 1), (9, 9, 9)).save(files[4], 'PNG')
    Image.new('L', (5, 7), 128).save(files[5], 'PNG')  # smaller than crop
    return files


def _loader_config(tmp_path, ignore_empty):
    load = f"dict(type='LoadImageSafely', ignore_empty={ignore_empty})"
    return write_config(
        tmp_path,
        ("_pca = dict(type='PCALighting', eigval=[55.4625, 4.7940, 1.1475], "
         'eigvec=[[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], '
         "[-0.5836, -0.6948, 0.4203]], alphastd=0.1, channel_order='bgr')\n"
         f'train_dataloader = dict(dataset=dict(pipeline=[{load}, '
         "dict(type='LimitAspectRatio', max_ratio=10), "
         "dict(type='RandomChoiceResize', scales=list(range(64, 129)), "
         "resize_type='mmpretrain.ResizeEdge', edge='short'), "
         "dict(type='RandomCrop', crop_size=56), "
         "dict(type='RandomFlip', prob=0.5), _pca, "
         "dict(type='PackInputs')]))\n"))


def _train(tmp_path, digits, options, ignore_empty):
    root = tmp_path / 'data'
    files = _bad_dataset(digits, root)
    config = _loader_config(tmp_path, ignore_empty)
    proc = python(
        'train.py',
        config,
        '--work-dir',
        tmp_path / 'work',
        *options,
        'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=8',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.indices=16',
        'val_dataloader.dataset.indices=8',
        env=fault_env())
    return proc, files


def test_bad_images_skipped_with_warning(tmp_path, digits, options):
    proc, files = _train(tmp_path, digits, options, ignore_empty=True)
    out = check(proc)
    assert f'skipped a bad image: {files[0]}: empty file' in out
    assert f'skipped a bad image: {files[1]}: cannot decode' in out
    # a refetched index may hit a bad file again: count the warnings
    count = out.count('skipped a bad image:')
    assert count >= 2 and f'({count} skipped so far)' in out
    assert f'epoch 1: {count} bad images skipped so far' in out
    assert f'end of training: {count} bad images skipped so far' in out
    skipped = [
        line for line in out.splitlines() if 'skipped a bad image:' in line
    ]
    for good in files[2:6]:  # CMYK, 16-bit, 1x4000, 5x7 gray: all decoded
        assert not any(str(good) in line for line in skipped)
    # the 1x4000 one is centre-cropped by LimitAspectRatio, which says so
    assert f'LimitAspectRatio: {files[4]}: 1x4000 image' in out
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()


def test_bad_image_error_names_the_file(tmp_path, digits, options):
    proc, files = _train(tmp_path, digits, options, ignore_empty=False)
    assert proc.returncode != 0
    assert any(f'{f}: empty file' in proc.stderr
               or f'{f}: cannot decode' in proc.stderr for f in files[:2])
