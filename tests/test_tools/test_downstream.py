"""A downstream classification project: mmprelu installed from
its wheel outside the repository (tests/wheel_install.py), the configs of
docs/downstream.md written as they are into a project folder, trained for
one short epoch on the digits data with mmpretrain's stock tools/train.py
and with ours (train, test, dist_train.sh)."""
import re
import sys
from pathlib import Path

import mmpretrain
import pytest

from tool_runner import free_port
from wheel_install import PIN_MISSING, ROOT, check_run, doc_files

DOC = ROOT / 'docs' / 'downstream.md'
STOCK_TRAIN = Path(mmpretrain.__file__).parent / '.mim' / 'tools' / 'train.py'
EPOCH = ['train_cfg.max_epochs=1']


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp('project')
    for name, text in doc_files(DOC).items():
        (folder / name).write_text(text)
    return folder


def trained_epoch(work_dir: Path, out: str) -> None:
    assert (work_dir / 'epoch_1.pth').is_file(), out[-3000:]
    assert re.search(r'Epoch\(val\) \[1\]\[\d+/\d+\]\s+accuracy/top1', out)


def test_doc_gives_the_downstream_files():
    assert set(doc_files(DOC)) == {
        'my_classifier.py', 'my_classifier_text.py', 'my_detector.py',
        'my_detector_text.py'}


def test_new_style_with_mmpretrain_stock_train(installed_wheel, project,
                                               options, tmp_path):
    if not installed_wheel.has_pkg_resources(project):
        pytest.fail(PIN_MISSING)
    work = tmp_path / 'work'
    out = check_run(installed_wheel.run(
        [sys.executable, STOCK_TRAIN, 'my_classifier.py', '--work-dir', work,
         *options, *EPOCH], project))
    trained_epoch(work, out)
    dumped = (work / 'my_classifier.py').read_text()
    assert 'num_classes=10' in dumped and "type='PReLUNetClassifier'" in dumped


def test_stock_train_needs_pkg_resources(installed_wheel, project):
    """What the setuptools<82 pin is for: without pkg_resources mmengine
    cannot find mmprelu.configs (for our tools neither)."""
    proc = installed_wheel.run([sys.executable, STOCK_TRAIN,
                                'my_classifier.py'], project,
                               hide_pkg_resources=True)
    assert proc.returncode != 0
    assert "No module named 'pkg_resources'" in proc.stderr


def test_new_style_with_our_train(installed_wheel, project, options,
                                  tmp_path):
    work = tmp_path / 'work'
    out = check_run(installed_wheel.run(
        [sys.executable, installed_wheel.tools / 'train.py',
         'my_classifier.py', '--work-dir', work, *options, *EPOCH],
        project))
    trained_epoch(work, out)


@pytest.fixture(scope='module')
def text_trained(installed_wheel, project, options, tmp_path_factory):
    """my_classifier_text.py (``mmprelu::`` base), one epoch with our
    train.py."""
    work = tmp_path_factory.mktemp('text_work')
    out = check_run(installed_wheel.run(
        [sys.executable, installed_wheel.tools / 'train.py',
         'my_classifier_text.py', '--work-dir', work, *options, *EPOCH],
        project))
    return work, out


def test_text_style_with_our_train(text_trained):
    work, out = text_trained
    trained_epoch(work, out)
    dumped = (work / 'my_classifier_text.py').read_text()
    assert 'num_classes=10' in dumped and "type='PReLUNetClassifier'" in dumped


def test_text_style_with_our_test(installed_wheel, project, options,
                                  text_trained, tmp_path):
    work, _ = text_trained
    out = check_run(installed_wheel.run(
        [sys.executable, installed_wheel.tools / 'test.py',
         'my_classifier_text.py', work / 'epoch_1.pth', '--work-dir',
         tmp_path, *options], project))
    assert re.search(r'^accuracy/top1: [0-9.]+$', out, re.M)


def test_text_style_with_our_dist_train(installed_wheel, project, options,
                                        tmp_path):
    work = tmp_path / 'work'
    out = check_run(installed_wheel.run(
        ['bash', installed_wheel.tools / 'dist_train.sh',
         'my_classifier_text.py', '1', '--work-dir', work, *options,
         *EPOCH], project, PORT=str(free_port())))
    trained_epoch(work, out)


def test_unknown_name_lists_the_nearest(installed_wheel, project):
    (project / 'typo.py').write_text(
        "_base_ = ['mmprelu::prelu_net_c_8xb61.py']\n")
    proc = installed_wheel.run([sys.executable,
                                installed_wheel.tools / 'train.py',
                                'typo.py'], project)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    assert 'mmprelu::prelu_net_c_8xb61.py: no such mmprelu config' in \
        proc.stderr
    assert 'nearest: mmprelu::prelu_net_c_8xb16.py' in proc.stderr
