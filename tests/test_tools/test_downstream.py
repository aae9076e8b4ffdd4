"""A downstream classification project: mmprelu installed from its wheel
outside the repository (tests/wheel_install.py), the configs of
docs/downstream.md written as they are into a project folder. Its
``my_classifier_upstream*.py`` override ours the upstream way (stock
CheckpointHook, LoggerHook, DefaultSampler, LoadImageFromFile pipelines,
EMAHook) on top of the doc's two base files. On the digits data,
mmpretrain's stock tools (new style) train two short epochs past the
epoch-1 checkpoint save, resume from it and test the checkpoint. Ours
(text style, through dist_train.sh) resume the same epoch-1 checkpoint and
train two more epochs past a save (the tools are interchangeable; a third
run from scratch would cost CI time and add nothing); our test.py tests
the result through the new-style twin (our tools read both styles)."""
import re
import sys
from pathlib import Path

import mmpretrain
import pytest
import torch
from mmengine.config import Config

from tool_runner import free_port
from wheel_install import PIN_MISSING, ROOT, check_run, doc_files

DOC = ROOT / 'docs' / 'downstream.md'
STOCK = Path(mmpretrain.__file__).parent / '.mim' / 'tools'
NEW, TEXT = 'my_classifier_upstream.py', 'my_classifier_upstream_text.py'
ACCURACY = r'accuracy/top1: [0-9.]+'


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp('project')
    for name, text in doc_files(DOC).items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(scope='module')
def run(installed_wheel, project, options):
    """``run(command, work_dir, *args, epochs=2)``: a tool in the project
    folder on the digits data; the hooks as the project sets them."""
    data = [o for o in options if not o.startswith('default_hooks.')]

    def step(command, work, *args, epochs=2):
        return check_run(
            installed_wheel.run([
                *command, *args, '--work-dir', work, *data,
                f'train_cfg.max_epochs={epochs}'
            ],
                                project,
                                PORT=str(free_port())))

    return step


def checkpoint(path: Path) -> dict:
    # written by the run under test: trusted
    return torch.load(path, map_location='cpu', weights_only=False)


def saved(work: Path, epochs) -> None:
    """The files and state of the epoch checkpoints in ``work``: one per
    epoch (stock CheckpointHook, interval 1), 2 iterations each, the EMA
    hook's state with one step per iteration since the start."""
    assert sorted(p.name for p in work.glob('epoch_*.pth')) == [
        f'epoch_{e}.pth' for e in epochs
    ]
    for epoch in epochs:
        state = checkpoint(work / f'epoch_{epoch}.pth')
        assert (state['meta']['epoch'], state['meta']['iter']) == (epoch,
                                                                   2 * epoch)
        assert int(state['ema_state_dict']['steps']) == 2 * epoch


def upstream_types(work: Path, out: str) -> None:
    """The project's overrides were built, not our types."""
    for hook in ('CheckpointHook', 'LoggerHook', 'EMAHook'):
        assert re.search(rf'^\(\w+\s*\) {hook}\s*$', out, re.M), hook
    (dumped, ) = work.glob('my_classifier_upstream*.py')
    cfg = Config.fromfile(dumped)
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'
    assert cfg.default_hooks.logger == dict(type='LoggerHook', interval=5)
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler'
    assert {
        loader.dataset.pipeline[0].type
        for loader in (cfg.train_dataloader, cfg.val_dataloader,
                       cfg.test_dataloader)
    } == {'LoadImageFromFile'}
    assert cfg.custom_hooks == [dict(type='EMAHook')]
    # the doc's base files reached the model
    assert cfg.model.type == 'PReLUNetClassifier'
    assert cfg.model.head.num_classes == 10


def resumed(out: str, epochs) -> None:
    """The run went on after the epoch-1 checkpoint (4 iterations)."""
    assert 'resumed epoch: 1, iter: 2' in out
    assert 'There is no `ema_state_dict`' not in out
    assert [
        int(e) for e in re.findall(r'Epoch\(train\) \[(\d+)\]\[2/2\]', out)
    ] == list(epochs)


@pytest.fixture(scope='module')
def stock_trained(installed_wheel, project, run, tmp_path_factory):
    """Two epochs with mmpretrain's stock train.py: (work dir, output)."""
    if not installed_wheel.has_pkg_resources(project):
        pytest.fail(PIN_MISSING)
    work = tmp_path_factory.mktemp('stock_work')
    return work, run([sys.executable, STOCK / 'train.py', NEW], work)


def test_stock_train_past_a_checkpoint_save(stock_trained):
    work, out = stock_trained
    saved(work, [1, 2])
    assert re.search(r'Epoch\(val\) \[2\]\[\d+/\d+\]\s+' + ACCURACY, out)
    upstream_types(work, out)


def test_stock_resume(run, stock_trained, tmp_path):
    work, _ = stock_trained
    out = run([sys.executable, STOCK / 'train.py', NEW], tmp_path, '--resume',
              work / 'epoch_1.pth')
    resumed(out, [2])
    saved(tmp_path, [2])


def test_stock_test(run, stock_trained, tmp_path):
    work, _ = stock_trained
    out = run([sys.executable, STOCK / 'test.py', NEW], tmp_path,
              work / 'epoch_2.pth')
    assert re.search(r'Epoch\(test\) \[\d+/\d+\]\s+' + ACCURACY, out)
    assert 'Start testing on EMA model' in out


@pytest.fixture(scope='module')
def our_resumed(installed_wheel, run, stock_trained, tmp_path_factory):
    """Our dist_train.sh (1 process) resuming the stock run's epoch 1 up
    to epoch 3: (work dir, output)."""
    work = tmp_path_factory.mktemp('our_work')
    out = run(['bash', installed_wheel.tools / 'dist_train.sh', TEXT, '1'],
              work,
              '--resume',
              stock_trained[0] / 'epoch_1.pth',
              epochs=3)
    return work, out


def test_our_train_resumes_past_a_checkpoint_save(our_resumed):
    work, out = our_resumed
    resumed(out, [2, 3])
    saved(work, [2, 3])
    upstream_types(work, out)


def test_our_test(installed_wheel, run, our_resumed, tmp_path):
    work, _ = our_resumed
    out = run([sys.executable, installed_wheel.tools / 'test.py', NEW],
              tmp_path, work / 'epoch_3.pth')
    assert re.search(rf'^{ACCURACY}$', out, re.M)
    assert 'Start testing on EMA model' in out


def test_doc_gives_the_downstream_files():
    assert set(doc_files(DOC)) == {
        'my_classifier.py', 'my_classifier_text.py', NEW, TEXT,
        'my_detector.py', 'my_detector_text.py'
    }


def test_stock_train_needs_pkg_resources(installed_wheel, project):
    """What the setuptools<82 pin is for: without pkg_resources mmengine
    cannot find mmprelu.configs (for our tools neither)."""
    proc = installed_wheel.run(
        [sys.executable, STOCK / 'train.py', 'my_classifier.py'],
        project,
        hide_pkg_resources=True)
    assert proc.returncode != 0
    assert "No module named 'pkg_resources'" in proc.stderr


def test_unknown_name_lists_the_nearest(installed_wheel, project):
    (project /
     'typo.py').write_text("_base_ = ['mmprelu::prelu_net_c_8xb61.py']\n")
    proc = installed_wheel.run(
        [sys.executable, installed_wheel.tools / 'train.py', 'typo.py'],
        project)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    assert 'mmprelu::prelu_net_c_8xb61.py: no such mmprelu config' in \
        proc.stderr
    assert 'nearest: mmprelu::prelu_net_c_8xb16.py' in proc.stderr
