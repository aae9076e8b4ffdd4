"""tools/misc/generate_package_configs.py on small config trees: what it
writes, that both forms load to the same dict, and what it refuses."""
import importlib.util
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'misc' / 'generate_package_configs.py'
spec = importlib.util.spec_from_file_location('generate_package_configs',
                                              SCRIPT)
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)

TREE = {
    '_base_/data.py':
    """
data_root = 'data/x'
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
val_dataloader = dict(batch_size=4, dataset=dict(
    data_root=data_root, pipeline=pipeline))
test_dataloader = val_dataloader
custom_imports = dict(imports=['json'], allow_failed_imports=False)
""",
    '_base_/model-a.py':
    """
model = dict(type='M', backbone=dict(arch='A', widths=[1, 2]),
             head=dict(num_classes=5))
sched = [dict(type='LinearLR'), dict(type='MultiStepLR')]
""",
    'sub/child-1.py':
    """# a comment that stays
_base_ = ['../_base_/model-a.py', '../_base_/data.py']
model = dict(  # merged into the base's
    backbone=dict(arch=dict(_delete_=True, depth=3)),
    head=dict(num_classes=7))
data_root = 'data/y'  # not a dict: replaced
sched = [dict(type='ConstantLR')]  # a list: replaced whole
val_dataloader = dict(batch_size=1)
extra = dict(new=True)
""",
    'sub/deeper/grand_child.py':
    """
_base_ = '../child-1.py'
test_dataloader = dict(dataset=dict(data_root='data/z'))
model = dict(head=dict(_delete_=True, type='H'))
""",
}


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / 'configs'
    for rel, text in TREE.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    return src


def test_generated_files_and_text(tree, tmp_path):
    files = gen.generate(tree)
    assert set(files) == {
        '__init__.py', '_base_/__init__.py', '_base_/data.py',
        '_base_/model_a.py', 'sub/__init__.py', 'sub/child_1.py',
        'sub/deeper/__init__.py', 'sub/deeper/grand_child.py'
    }
    child = files['sub/child_1.py']
    assert child.startswith('# Generated from configs/sub/child-1.py\n')
    assert '# a comment that stays\n' in child
    assert ('with read_base():\n    from .._base_.model_a import *\n'
            '    from .._base_.data import *\n') in child
    assert 'model.merge(dict(  # merged into the base\'s\n' in child
    assert "\ndata_root = 'data/y'" in child
    assert "\nsched = [dict(type='ConstantLR')]" in child
    assert 'val_dataloader.merge(dict(batch_size=1))' in child
    assert '\nextra = dict(new=True)' in child
    assert 'from ..child_1 import *' in files['sub/deeper/grand_child.py']
    assert "__import__('json')\n" in files['_base_/data.py']


@pytest.mark.parametrize('rel', sorted(TREE))
def test_both_forms_load_the_same(tree, tmp_path, rel):
    out = tmp_path / 'new'
    gen.write(gen.generate(tree), out)
    new_rel = rel.replace('-', '_')
    text_cfg = Config.fromfile(tree / rel).to_dict()
    new_cfg = Config.fromfile(out / new_rel).to_dict()
    assert new_cfg == text_cfg
    if rel.startswith('sub/deeper'):  # the semantics, spelled out
        assert new_cfg['model'] == dict(
            type='M',
            backbone=dict(arch=dict(depth=3), widths=[1, 2]),
            head=dict(type='H'))
        assert new_cfg['val_dataloader']['batch_size'] == 1
        assert new_cfg['test_dataloader']['batch_size'] == 4
        assert new_cfg['test_dataloader']['dataset']['data_root'] == 'data/z'


@pytest.mark.parametrize('text,message', [
    ("x = 1\n_base_ = ['../_base_/data.py']\n", 'before other statements'),
    ("_base_ = ['../_base_/data.py']\nfor i in range(2):\n    pass\n",
     'only assignments to one name'),
    ("_base_ = ['../_base_/data.py']\na, b = 1, 2\n", 'only assignments'),
    ("_base_ = ['../_base_/data.py']\nx = _base_.data_root\n",
     'reading _base_'),
    ("_base_ = ['../_base_/data.py']\nx = '{{fileDirname}}'\n",
     'substitutions'),
    ("_base_ = ['../_base_/missing.py']\n", 'no file under configs/'),
    ("_base_ = ['../_base_/data.py']\nval_dataloader = dict(batch_size=1)\n"
     "test_dataloader = val_dataloader\n", 'val_dataloader is merged into '
     'its base and read afterwards'),
    ("_base_ = ['../_base_/data.py']\nval_dataloader = dict(batch_size=1)\n"
     "val_dataloader = dict(batch_size=2)\n", 'assigned again'),
    ("_base_ = ['../_base_/data.py']\ncustom_imports = dict(imports=['os'], "
     "allow_failed_imports=True)\n", 'allow_failed_imports=True'),
])
def test_refuses_what_it_cannot_translate(tree, text, message):
    (tree / 'sub' / 'bad.py').write_text(text)
    with pytest.raises(gen.GenerateError, match=message) as info:
        gen.translate('sub/bad.py', tree)
    assert str(info.value).startswith('configs/sub/bad.py')


def test_cross_package_base_becomes_a_generated_module(tree, tmp_path):
    """A new-style config cannot import another package's text config: the
    twin imports a generated module holding what the text form inherits,
    mmengine's ``_scope_`` tags included."""
    (tree / 'sub' / 'zoo.py').write_text(
        "_base_ = ['mmpretrain::_base_/schedules/imagenet_bs256.py']\n"
        "optim_wrapper = dict(constructor='C')\n")
    files = gen.generate(tree)
    upstream = '_upstream_/mmpretrain/_base_/schedules/imagenet_bs256.py'
    assert files[upstream].startswith(
        '# Generated from mmpretrain::_base_/schedules/imagenet_bs256.py\n'
        '# (mmpretrain 1.2')
    assert ('    from .._upstream_.mmpretrain._base_.schedules.imagenet_bs256'
            ' import *\n') in files['sub/zoo.py']
    assert "optim_wrapper.merge(dict(constructor='C'))" in files['sub/zoo.py']
    out = tmp_path / 'new'
    gen.write(files, out)
    text_cfg = Config.fromfile(tree / 'sub' / 'zoo.py').to_dict()
    assert Config.fromfile(out / 'sub' / 'zoo.py').to_dict() == text_cfg
    assert text_cfg['optim_wrapper'] == dict(
        constructor='C',
        optimizer=dict(
            type='SGD',
            lr=0.1,
            momentum=0.9,
            weight_decay=0.0001,
            _scope_='mmpretrain'))


def test_colliding_module_names(tree):
    (tree / 'sub' / 'child_1.py').write_text('x = 1\n')
    with pytest.raises(gen.GenerateError, match='is taken by another'):
        gen.generate(tree)


def test_stale_and_write(tree, tmp_path):
    out = tmp_path / 'new'
    files = gen.generate(tree)
    assert gen.stale(files, out) == sorted(files)
    assert gen.write(files, out) == sorted(files)
    assert gen.stale(files, out) == []
    (out / 'sub' / 'child_1.py').write_text('edited\n')
    (out / 'sub' / 'old.py').write_text('x = 1\n')
    assert gen.stale(files, out) == ['sub/child_1.py', 'sub/old.py']
    gen.write(files, out)
    assert not (out / 'sub' / 'old.py').exists()
    assert (out / 'sub' / 'child_1.py').read_text() == files['sub/child_1.py']
