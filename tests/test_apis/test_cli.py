import argparse
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmprelu.apis.cli import (add_common_args, check_common_args,
                              drop_persistent_workers_without_workers,
                              enable_tta, flip_tta_pipeline,
                              set_dataloader_defaults, set_work_dir)
from mmprelu.registry import TRANSFORMS

TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='CenterCrop', crop_size=56),
    dict(type='PackInputs'),
]


def test_flip_tta_pipeline_gives_image_and_flip():
    pipeline = flip_tta_pipeline(TEST_PIPELINE)
    assert [s['type'] for s in pipeline] == [
        'LoadImageFromFile', 'ResizeEdge', 'CenterCrop', 'TestTimeAug'
    ]
    init_default_scope('mmpretrain')
    tta = TRANSFORMS.build(pipeline[-1])
    img = torch.arange(56 * 56 * 3, dtype=torch.uint8).reshape(56, 56, 3)
    out = tta(dict(img=img.numpy(), img_shape=(56, 56), ori_shape=(56, 56)))
    flipped, plain = out['inputs']  # mmpretrain's order
    assert torch.equal(flipped, plain.flip(-1))
    assert TEST_PIPELINE[-1] == dict(type='PackInputs')  # input untouched


def test_flip_tta_pipeline_needs_pack_inputs():
    with pytest.raises(ValueError, match='PackInputs'):
        flip_tta_pipeline(TEST_PIPELINE[:-1])


@pytest.mark.parametrize('has_tta', [False, True])
def test_enable_tta(has_tta):
    loader = dict(batch_size=4, dataset=dict(pipeline=TEST_PIPELINE))
    cfg = Config(
        dict(
            model=dict(type='ImageClassifier'),
            val_dataloader=loader,
            test_dataloader=loader))
    if has_tta:
        cfg.tta_model = dict(type='MyTTA', extra=1)
        cfg.tta_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='TestTimeAug', transforms=[])
        ]
    enable_tta(cfg)
    expected_type = 'MyTTA' if has_tta else 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.type == expected_type
    assert cfg.model.module == dict(type='ImageClassifier')
    assert cfg.test_dataloader.dataset.pipeline == cfg.tta_pipeline
    assert cfg.test_dataloader.dataset.pipeline[-1].type == 'TestTimeAug'
    assert cfg.val_dataloader.dataset.pipeline == TEST_PIPELINE


@pytest.mark.parametrize('workers,no_pin,no_persist,persist', [
    (2, False, False, True),
    (2, False, True, False),
    (0, True, False, False),
])
def test_dataloader_defaults(workers, no_pin, no_persist, persist):
    cfg = Config(
        dict(
            train_dataloader=dict(num_workers=workers),
            val_dataloader=dict(num_workers=workers, persistent_workers=True),
            test_dataloader=None))
    set_dataloader_defaults(cfg, no_pin, no_persist)
    drop_persistent_workers_without_workers(cfg)
    for name in ('train_dataloader', 'val_dataloader'):
        loader = cfg[name]
        assert loader.collate_fn == dict(type='default_collate')
        assert loader.pin_memory is (torch.cuda.is_available() and not no_pin)
        assert loader.persistent_workers is persist
    assert cfg.test_dataloader is None


def test_dataloader_defaults_of_the_test_tool():
    """Only the named loaders, and no persistent_workers default."""
    cfg = Config(
        dict(
            train_dataloader=dict(num_workers=2),
            test_dataloader=dict(num_workers=2)))
    set_dataloader_defaults(cfg, loaders=['test_dataloader'])
    assert cfg.train_dataloader == dict(num_workers=2)
    assert 'persistent_workers' not in cfg.test_dataloader
    assert cfg.test_dataloader.collate_fn == dict(type='default_collate')


@pytest.mark.parametrize('no_pin,no_persist', [(False, False), (True, True)])
def test_other_scopes_keep_their_loaders(no_pin, no_persist):
    """An mmdet config keeps what it and mmdet's own tools set (no
    collate_fn: mmengine's pseudo_collate); only explicit flags apply."""
    loader = dict(
        num_workers=2, batch_sampler=dict(type='AspectRatioBatchSampler'))
    cfg = Config(
        dict(
            default_scope='mmdet',
            model=dict(type='RetinaNet'),
            train_dataloader=loader,
            test_dataloader=loader))
    set_dataloader_defaults(cfg, no_pin, no_persist)
    for name in ('train_dataloader', 'test_dataloader'):
        expected = dict(loader)
        if no_pin:
            expected.update(pin_memory=False, persistent_workers=False)
        assert cfg[name] == expected


def test_tta_of_another_scope_needs_its_own():
    cfg = Config(
        dict(
            default_scope='mmdet',
            model=dict(type='RetinaNet'),
            test_dataloader=dict(dataset=dict(pipeline=TEST_PIPELINE))))
    with pytest.raises(
            ValueError,
            match="scope 'mmdet' needs its own "
            'tta_model and tta_pipeline'):
        enable_tta(cfg)
    cfg.tta_model = dict(type='DetTTAModel')
    cfg.tta_pipeline = TEST_PIPELINE
    enable_tta(cfg)
    assert cfg.model == dict(type='DetTTAModel', module=dict(type='RetinaNet'))


@pytest.mark.parametrize('arg,in_cfg,expected', [
    ('out', 'cfg_dir', 'out'),
    (None, 'cfg_dir', 'cfg_dir'),
    (None, None, './work_dirs/my_config'),
])
def test_work_dir(arg, in_cfg, expected):
    cfg = Config(dict(work_dir=in_cfg))
    set_work_dir(cfg, arg, 'configs/my_config.py')
    assert cfg.work_dir == expected


@pytest.mark.parametrize('launcher,expected', [('none', '2'), ('pytorch', '2'),
                                               ('slurm', None), ('mpi', None)])
def test_local_rank_argument_only_for_torch_launchers(tmp_path, monkeypatch,
                                                      launcher, expected):
    """--local-rank (legacy torch.distributed.launch) fills LOCAL_RANK;
    slurm and mpi ranks take theirs from SLURM_LOCALID /
    OMPI_COMM_WORLD_LOCAL_RANK (mmprelu.apis.launch), never a default 0."""
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    config = tmp_path / 'cfg.py'
    config.write_text('x = 1\n')
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_args(parser)
    args = parser.parse_args(
        [str(config), '--launcher', launcher, '--local-rank', '2'])
    check_common_args(parser, args)
    assert os.environ.get('LOCAL_RANK') == expected


@pytest.mark.parametrize('collate', [None, 'pseudo_collate'])
def test_test_loader_collate_default(collate):
    """mmpretrain's default (default_collate) for every loader and model;
    the paper configs' test loaders name pseudo_collate, which is kept."""
    loader = dict(num_workers=0)
    test_loader = dict(loader)
    if collate is not None:
        test_loader['collate_fn'] = dict(type=collate)
    cfg = Config(
        dict(
            model=dict(type='PReLUNetClassifier'),
            val_dataloader=loader,
            test_dataloader=test_loader,
            train_dataloader=dict(num_workers=0)))
    set_dataloader_defaults(cfg)
    assert cfg.test_dataloader.collate_fn == dict(
        type=collate or 'default_collate')
    for name in ('train_dataloader', 'val_dataloader'):
        assert cfg[name].collate_fn == dict(type='default_collate')
