"""Session fixtures of the tool tests: the digits data converted once, the
--cfg-options of a fast run on it, and one short training run."""
import pytest

from tool_runner import CONFIG, check, python


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'multiprocess: starts several training processes '
        '(torchrun, gloo; a minute or more); run by default, skip locally '
        'with -m "not multiprocess"')


@pytest.fixture(scope='session')
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp('digits')
    check(python('dataset_converters/digits2imagenet.py', root, '--size', 64))
    assert (root / 'meta' / 'train.txt').is_file()
    return root


@pytest.fixture(scope='session')
def options(digits):
    """``--cfg-options`` for a fast run on the converted data."""
    return [
        '--cfg-options',
        *(f'{loader}_dataloader.{key}' for loader in ('train', 'val', 'test')
          for key in (f'dataset.data_root={digits}', 'num_workers=0',
                      'persistent_workers=False')),
        'train_dataloader.dataset.indices=64',
        # the tests count iterations of batch 32 (2 per epoch); the demo
        # config's own batch is 64
        'train_dataloader.batch_size=32',
        'auto_scale_lr.base_batch_size=32',
        'val_dataloader.dataset.indices=32',
        'test_dataloader.dataset.indices=32',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1',
    ]


@pytest.fixture(scope='session')
def trained(tmp_path_factory, options):
    """One epoch (2 iterations) of tools/train.py; returns (work dir,
    output)."""
    work_dir = tmp_path_factory.mktemp('train')
    out = check(
        python('train.py', CONFIG, '--work-dir', work_dir, *options,
               'train_cfg.max_epochs=1'))
    return work_dir, out
