"""Checkpoint files: completeness check (truncated, damaged,
not a torch file), atomic publishing, and the newest complete checkpoint of
a work dir."""
import os
import zipfile

import pytest
import torch

from mmprelu.engine.checkpoint_files import (checkpoint_problem,
                                             find_resume_checkpoint, publish,
                                             write_text_atomically)


def save(path, value=0, mtime=None):
    torch.save(
        {
            'meta': {
                'iter': value
            },
            'state_dict': {
                'w': torch.full((256, ), float(value))
            }
        }, path)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


def damage(path):
    data = bytearray(open(path, 'rb').read())
    middle = len(data) // 2
    data[middle:middle + 64] = b'\xff' * 64
    open(path, 'wb').write(bytes(data))


def truncate(path):
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])


def test_complete_checkpoint_has_no_problem(tmp_path):
    assert checkpoint_problem(save(tmp_path / 'a.pth')) is None


@pytest.mark.parametrize('spoil,match', [
    (truncate, 'truncated?'),
    (damage, 'CRC mismatch'),
    (lambda p: open(p, 'wb').close(), 'unreadable'),
    (os.remove, 'file not found'),
])
def test_spoilt_checkpoints_are_named(tmp_path, spoil, match):
    path = save(tmp_path / 'a.pth')
    spoil(path)
    assert match in checkpoint_problem(path)


def test_other_zip_is_not_a_checkpoint(tmp_path):
    with zipfile.ZipFile(tmp_path / 'x.pth', 'w') as archive:
        archive.writestr('readme.txt', 'hello')
    assert 'not a torch.save file' in checkpoint_problem(
        str(tmp_path / 'x.pth'))


def test_newest_complete_checkpoint_wins(tmp_path):
    save(tmp_path / 'epoch_1.pth', 1, mtime=100)
    save(tmp_path / 'iter_6.pth', 6, mtime=200)
    save(tmp_path / 'iter_7.pth', 7, mtime=300)
    save(tmp_path / 'best_accuracy_epoch_9.pth', 9, mtime=500)  # never
    save(tmp_path / 'pretrained.pth', 9, mtime=500)  # never
    damage(tmp_path / 'iter_7.pth')
    os.utime(tmp_path / 'iter_7.pth', (300, 300))
    write_text_atomically(
        str(tmp_path / 'last_checkpoint'), str(tmp_path / 'iter_7.pth'))
    path, skipped = find_resume_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'iter_6.pth')
    assert [p for p, _ in skipped] == [str(tmp_path / 'iter_7.pth')]
    assert 'CRC mismatch' in skipped[0][1]


def test_checkpoints_outside_the_work_dir(tmp_path):
    """CheckpointHook(out_dir=...) saves elsewhere; last_checkpoint points
    there, and that folder's checkpoints are candidates too."""
    out = tmp_path / 'out'
    out.mkdir()
    save(out / 'epoch_2.pth', 2, mtime=100)
    save(out / 'epoch_3.pth', 3, mtime=200)
    truncate(out / 'epoch_3.pth')
    os.utime(out / 'epoch_3.pth', (200, 200))
    (tmp_path / 'last_checkpoint').write_text(str(out / 'epoch_3.pth'))
    path, skipped = find_resume_checkpoint(str(tmp_path))
    assert path == str(out / 'epoch_2.pth')
    assert skipped[0][0] == str(out / 'epoch_3.pth')


@pytest.mark.parametrize('setup,expected', [
    ('missing', (None, [])),
    ('empty', (None, [])),
    ('remote', ('s3://bucket/run/epoch_4.pth', [])),
])
def test_nothing_to_check(tmp_path, setup, expected):
    work = tmp_path / 'work'
    if setup != 'missing':
        work.mkdir()
    if setup == 'remote':
        (work / 'last_checkpoint').write_text('s3://bucket/run/epoch_4.pth')
    assert find_resume_checkpoint(str(work)) == expected


def test_publish_replaces_atomically(tmp_path):
    final = tmp_path / 'epoch_1.pth'
    save(final, 1)
    part = save(tmp_path / 'epoch_1.pth.part', 2)
    publish(part, str(final))
    assert not os.path.exists(part)
    assert torch.load(final, weights_only=True)['meta']['iter'] == 2
    write_text_atomically(str(tmp_path / 'last_checkpoint'), str(final))
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth', 'last_checkpoint']
