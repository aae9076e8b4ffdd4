"""configs/metafile.yml and model-index.yml stay in step with the configs:
every classification config indexed, every path real, and FLOPs/params
equal to what tools/analysis/get_flops.py counts (meta device)."""
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'tools' / 'analysis'))
from analysis_utils import load_config  # noqa: E402
from get_flops import build_meta_model, count  # noqa: E402

METAFILE = yaml.safe_load((ROOT / 'configs' / 'metafile.yml').read_text())
MODELS = METAFILE['Models']
BY_CONFIG = {m['Config']: m for m in MODELS}
#: <model>_<gpus>x<batch per gpu>_<dataset>
NAME = re.compile(r'^[a-z0-9]+(-[a-z0-9]+)*_(\d+)xb(\d+)_(in1k|digits)$')
#: FLOPs are counted at this input size per dataset suffix
SHAPES = {'in1k': (224, 224), 'digits': (56, 56)}


def classification_configs():
    """Configs the index must cover: configs/*.py and configs/zoo/*.py
    (configs/experiments/ are analysis protocols, not indexed)."""
    found = sorted(ROOT.glob('configs/*.py')) + sorted(
        ROOT.glob('configs/zoo/*.py'))
    return [str(p.relative_to(ROOT)) for p in found]


def meta_model(cfg):
    """get_flops' meta-device build; models whose constructors need real
    values (mmpretrain's ResNet calls ``.item()``) are built with
    parameters and buffers moved to meta as they are registered."""
    try:
        return build_meta_model(cfg)
    except RuntimeError as err:
        if 'meta' not in str(err).lower():  # torch 2.1: 'Meta' backend
            raise
    from mmpretrain.apis.utils import init_empty_weights

    from mmprelu.registry import MODELS as REGISTRY
    with init_empty_weights(include_buffers=True):
        return REGISTRY.build(cfg.model).eval()


def test_model_index_imports_the_metafile():
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    assert index['Import'] == ['configs/metafile.yml']
    collections = {c['Name']: c for c in METAFILE['Collections']}
    assert set(collections) == {'PReLU-net', 'PReLU'}
    for collection in collections.values():
        paper = collection['Paper']
        assert paper['URL'] == 'https://arxiv.org/abs/1502.01852'
        assert paper['Title'].startswith('Delving Deep into Rectifiers')
    for model in MODELS:
        zoo = model['Config'].startswith('configs/zoo/')
        assert model['In Collection'] == ('PReLU' if zoo else 'PReLU-net')


def test_every_classification_config_is_indexed():
    missing = set(classification_configs()) - set(BY_CONFIG)
    assert not missing, f'add to configs/metafile.yml: {sorted(missing)}'
    assert len(BY_CONFIG) == len(MODELS), 'a config is indexed twice'


@pytest.mark.parametrize('model', MODELS, ids=lambda m: m['Name'])
def test_entry_is_well_formed(model):
    assert (ROOT / model['Config']).is_file(), model['Config']
    match = NAME.match(model['Name'])
    assert match, f"{model['Name']} does not follow {NAME.pattern}"
    assert not model.get('Weights'), 'no weights are released'
    gpus, batch = int(match.group(2)), int(match.group(3))
    assert model['Metadata']['Batch Size'] == gpus * batch
    cfg = load_config(ROOT / model['Config'])
    assert cfg.train_dataloader.batch_size == batch
    assert f'_{gpus}xb{batch}' in Path(model['Config']).stem


def test_names_are_unique():
    names = [m['Name'] for m in MODELS]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize('model', MODELS, ids=lambda m: m['Name'])
def test_flops_and_params_match_the_code(model):
    shape = SHAPES[model['Name'].rsplit('_', 1)[1]]
    result = count(meta_model(load_config(ROOT / model['Config'])), shape)
    meta = model['Metadata']
    got = dict(FLOPs=result['total_macs'], Parameters=result['total_params'])
    want = dict(FLOPs=meta['FLOPs'], Parameters=meta['Parameters'])
    assert got == want, (f"configs/metafile.yml {model['Name']}: write "
                         f'{got} (multiply-adds at {shape})')
