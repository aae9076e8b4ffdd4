"""A downstream segmentation project: docs/segmentation.md's
``my_segmentor.py`` as it is, in a folder outside the repository, with
mmprelu installed from its wheel (tests/wheel_install.py), a checkpoint of
the digits demo's classifier where the file names it, and the photo set
written by the installed converter. mmseg's stock tools/train.py trains a
few iterations and validates (mIoU); its stock tools/test.py tests the
saved checkpoint with slide and whole inference."""
import re
import sys
from pathlib import Path

import pytest

from seg_helpers import ROOT, require_mmseg, write_cls_checkpoint
from wheel_install import PIN_MISSING, check_run, doc_files

require_mmseg()

import mmseg  # noqa: E402

DOC = ROOT / 'docs' / 'segmentation.md'
TOOLS = Path(mmseg.__file__).parent / '.mim' / 'tools'
ITERS = 10
LOADERS = ('train', 'val', 'test')
# the size overrides of the run (the project file stays as documented)
SMALL = [
    '--cfg-options', f'train_cfg.max_iters={ITERS}',
    f'train_cfg.val_interval={ITERS}', f'param_scheduler.0.end={ITERS}',
    f'default_hooks.checkpoint.interval={ITERS}',
    'default_hooks.logger.interval=5', 'train_dataloader.batch_size=4',
    *(f'{loader}_dataloader.{key}' for loader in LOADERS
      for key in ('num_workers=0', 'persistent_workers=False'))
]
METRIC = re.compile(r'Iter\((val|test)\) \[13/13\].*\bmIoU: ([0-9.]+)')


@pytest.fixture(scope='module')
def project(installed_wheel, tmp_path_factory):
    folder = tmp_path_factory.mktemp('seg_project')
    text = doc_files(DOC)['my_segmentor.py']
    (folder / 'my_segmentor.py').write_text(text)
    (checkpoint, ) = re.findall(r"checkpoint='([^']+)'", text)
    write_cls_checkpoint(folder / checkpoint)
    check_run(
        installed_wheel.run([
            sys.executable, installed_wheel.tools / 'dataset_converters' /
            'skimage2seg.py', 'data/photos_seg', '--max-side', '160'
        ], folder))
    if not installed_wheel.has_pkg_resources(folder):
        pytest.fail(PIN_MISSING)
    return folder


@pytest.fixture(scope='module')
def trained(installed_wheel, project, tmp_path_factory):
    work = tmp_path_factory.mktemp('seg_work')
    out = check_run(
        installed_wheel.run([
            sys.executable, TOOLS / 'train.py', 'my_segmentor.py',
            '--work-dir', work, *SMALL
        ], project))
    return work, out


def test_stock_train_from_our_classifier_validates(trained):
    work, out = trained
    assert (work / f'iter_{ITERS}.pth').is_file(), out[-3000:]
    assert f'Iter(train) [{ITERS}/{ITERS}]' in out
    assert 'load backbone. in model from: work_dirs/demo_digits/' \
        'epoch_24.pth' in out
    assert 'unexpected key' not in out and 'missing keys' not in out
    (metric, ) = [float(m) for kind, m in METRIC.findall(out) if kind == 'val']
    assert 0 < metric <= 100
    dumped = (work / 'my_segmentor.py').read_text()
    assert "type='mmpretrain.PReLUNet'" in dumped and 'output_stride=4' \
        in dumped


@pytest.mark.parametrize('mode', ['slide', 'whole'])
def test_stock_test_slide_and_whole(installed_wheel, project, trained,
                                    tmp_path, mode):
    """The saved checkpoint in mmseg's stock test.py (loaded through our
    weights-only loader: any supported torch). Slide is the config's test
    mode and gives the mIoU the last validation printed."""
    work, train_out = trained
    extra = [] if mode == 'slide' else ['model.test_cfg.mode=whole']
    out = check_run(
        installed_wheel.run([
            sys.executable, TOOLS / 'test.py', 'my_segmentor.py',
            work / f'iter_{ITERS}.pth', '--work-dir', tmp_path, *SMALL, *extra
        ], project))
    (metric, ) = [
        float(m) for kind, m in METRIC.findall(out) if kind == 'test'
    ]
    assert 0 < metric <= 100
    (val, ) = [
        float(m) for kind, m in METRIC.findall(train_out) if kind == 'val'
    ]
    if mode == 'slide':
        assert metric == val
