"""Which checkpoint tools/train.py resumes from (mmprelu.apis.resume): an
explicit file, the newest complete one for --resume and for restarted jobs,
damaged newer ones skipped and named, and a start from scratch that says
so. tools/train.py folds --resume into the config first: ``--resume`` is
``resume=True, load_from=None``, ``--resume CKPT`` is ``resume=True,
load_from=CKPT``."""
import logging
import os

import pytest
import torch
from mmengine.config import Config

from mmprelu.apis.resume import resolve_resume

RESTART = 'torchrun restart 1 of at most 3'


def save(path, mtime):
    torch.save({'meta': {}, 'state_dict': {'w': torch.ones(64)}}, path)
    os.utime(path, (mtime, mtime))
    return str(path)


@pytest.fixture
def work(tmp_path):
    """epoch_1.pth and iter_6.pth complete, iter_7.pth (the newest, named
    by last_checkpoint) truncated."""
    save(tmp_path / 'epoch_1.pth', 100)
    save(tmp_path / 'iter_6.pth', 200)
    newest = save(tmp_path / 'iter_7.pth', 300)
    data = open(newest, 'rb').read()
    open(newest, 'wb').write(data[:len(data) // 2])
    os.utime(newest, (300, 300))
    (tmp_path / 'last_checkpoint').write_text(newest)
    return tmp_path


def config(work_dir, **kwargs):
    return Config(
        dict(
            dict(work_dir=str(work_dir), resume=False, load_from=None),
            **kwargs))


@pytest.mark.parametrize(
    'resume,load_from,restart',
    [
        (True, None, None),  # --resume
        (False, None, RESTART),  # a restarted job
        (True, '/elsewhere.pth', RESTART),  # --resume CKPT, restarted
    ])
def test_newest_complete_checkpoint(work, resume, load_from, restart):
    cfg = config(work, resume=resume, load_from=load_from)
    notes = resolve_resume(cfg, restart)
    why = restart or '--resume'
    assert (cfg.resume, cfg.load_from) == (True, str(work / 'iter_6.pth'))
    assert notes[0][0] == logging.WARNING
    assert notes[0][1].startswith(
        f'{why}: skipping checkpoint {work}/iter_7.pth: unreadable')
    assert notes[1] == (logging.INFO,
                        f'{why}: resuming from {work}/iter_6.pth')


def test_explicit_checkpoint_is_taken_as_is(work):
    cfg = config(work, resume=True, load_from=str(work / 'epoch_1.pth'))
    assert resolve_resume(cfg) == []
    assert (cfg.resume, cfg.load_from) == (True, str(work / 'epoch_1.pth'))


def test_no_request_no_change(work):
    cfg = config(work, load_from='pretrained.pth')
    assert resolve_resume(cfg) == []
    assert (cfg.resume, cfg.load_from) == (False, 'pretrained.pth')


@pytest.mark.parametrize(
    'load_from,start',
    [(None, 'from scratch'),
     ('pretrained.pth', 'from the weights of load_from=pretrained.pth')])
def test_nothing_usable_starts_over_and_says_so(tmp_path, load_from, start):
    cfg = config(tmp_path / 'empty', load_from=load_from)
    notes = resolve_resume(cfg, RESTART)
    assert (cfg.resume, cfg.load_from) == (False, load_from)
    assert notes == [(logging.INFO, f'{RESTART}: no usable checkpoint in '
                      f'{tmp_path}/empty: training starts {start}')]


def test_restart_before_the_first_save_uses_the_given_checkpoint(tmp_path):
    cfg = config(tmp_path, resume=True, load_from='/given/epoch_3.pth')
    resolve_resume(cfg, RESTART)
    assert (cfg.resume, cfg.load_from) == (True, '/given/epoch_3.pth')
