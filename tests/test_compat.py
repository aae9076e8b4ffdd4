"""mmprelu.compat: the declared range, the import-time check, the version
switches, and no unguarded private torch API anywhere in the package."""
import ast
import inspect
import os.path as osp
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from mmprelu import compat

ROOT = Path(__file__).resolve().parents[1]
GOOD = {
    'python': '3.11.7',
    'torch': '2.14.1+cu130',
    'numpy': '2.4.6',
    'mmcv': '2.1.0',
    'mmengine': '0.10.7',
    'mmpretrain': '1.2.0'
}


def test_this_environment_is_in_the_tested_range():
    found = compat.found_versions()
    assert set(found) == set(compat.SUPPORTED)
    assert found['torch'] == torch.__version__
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert compat.check_environment() == []


@pytest.mark.parametrize('version',
                         ['2.1.2+cu121', '2.1.0', '2.14.1', '2.10.0a0+git123'])
def test_torch_range_ends_are_accepted(version):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert compat.check_environment(dict(GOOD, torch=version)) == []


@pytest.mark.parametrize('name,version,shown', [
    ('torch', '2.0.1', 'torch 2.0.1 (tested: 2.1-2.14)'),
    ('torch', '2.15.0', 'torch 2.15.0 (tested: 2.1-2.14)'),
    ('python', '3.8.18', 'python 3.8.18 (tested: 3.9-3.12)'),
    ('python', '3.13.1', 'python 3.13.1 (tested: 3.9-3.12)'),
    ('numpy', '1.24.4', 'numpy 1.24.4 (tested: 1.26-2.x)'),
    ('mmcv', '2.3.0', 'mmcv 2.3.0 (tested: 2.1-2.2)'),
    ('mmengine', '0.9.1', 'mmengine 0.9.1 (tested: 0.10.x)'),
    ('mmpretrain', '1.1.0', 'mmpretrain 1.1.0 (tested: 1.2.x)'),
])
def test_outside_the_range_one_warning_names_found_and_tested(
        name, version, shown):
    found = dict(GOOD, **{name: version})
    with pytest.warns(UserWarning) as record:
        assert compat.check_environment(found) == [shown]
    assert len(record) == 1
    message = str(record[0].message)
    assert shown in message
    assert f"Found: python {found['python']}, torch {found['torch']}" in \
        message
    assert 'Tested: python 3.9-3.12, torch 2.1-2.14' in message
    assert 'docs/environments.md' in message


def test_every_problem_in_one_warning_and_a_missing_one_in_none():
    with pytest.warns(UserWarning, match='torch 2.0.1.*; numpy 3.0.0'):
        compat.check_environment(dict(GOOD, torch='2.0.1', numpy='3.0.0'))
    with warnings.catch_warnings():  # fails at its own import instead
        warnings.simplefilter('error')
        assert compat.check_environment(dict(GOOD, mmcv=None)) == []


def test_import_warns_and_goes_on_outside_the_range():
    code = ('import warnings, torch\n'
            'torch.__version__ = "2.0.1"\n'
            'with warnings.catch_warnings(record=True) as seen:\n'
            '    warnings.simplefilter("always")\n'
            '    import mmprelu\n'
            'print(mmprelu.PReLUNet.__name__)\n'
            'print([str(w.message) for w in seen\n'
            '       if "mmprelu is untested" in str(w.message)])\n')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    name, messages = out.stdout.strip().split('\n')[-2:]
    assert name == 'PReLUNet'
    assert 'torch 2.0.1 (tested: 2.1-2.14)' in messages
    assert messages.count('mmprelu is untested') == 1


def _range_of(requirement: str) -> tuple:
    """``'mmcv>=2.1.0,<2.3.0'`` -> ``((2, 1), (2, 2))``: the (major,
    minor) span, as :data:`compat.SUPPORTED` writes it (``<3`` -> 2.99)."""
    low = re.search(r'>=\s*(\d+)\.(\d+)', requirement)
    high = re.search(r'<\s*(\d+)(?:\.(\d+))?', requirement)
    major, minor = int(high[1]), int(high[2] or 0)
    top = (major, minor - 1) if minor else (major - 1, 99)
    return (int(low[1]), int(low[2])), top


def _requirements(name: str) -> dict:
    lines = (ROOT / 'requirements' / f'{name}.txt').read_text().splitlines()
    reqs = [line.split('#')[0].strip() for line in lines]
    return {re.match(r'[\w-]+', r)[0]: r for r in reqs if r}


def _readme_spans() -> dict:
    """First column -> second column of the README's environment table."""
    text = (ROOT / 'README.md').read_text(encoding='utf-8')
    table = text.split('## Supported environments', 1)[1].split('\n\n')[1]
    rows = [[c.strip() for c in line.strip('|').split('|')]
            for line in table.splitlines()[2:]]
    return {row[0].split()[0].lower(): row[1] for row in rows}


def test_tested_range_is_the_same_in_requirements_setup_and_readme():
    """compat.SUPPORTED, requirements/{mminstall,torch,runtime}.txt,
    setup.py's python_requires and the README state one range."""
    reqs = {
        **_requirements('mminstall'),
        **_requirements('torch'),
        **_requirements('runtime')
    }
    setup = (ROOT / 'setup.py').read_text()
    reqs['python'] = re.search(r"python_requires='([^']+)'", setup)[1]
    readme = _readme_spans()
    doc = (ROOT / 'docs' / 'environments.md').read_text()
    for name, span in compat.SUPPORTED.items():
        assert _range_of(reqs[name]) == span, (name, reqs[name])
        assert readme[name].startswith(compat._span(name)), (name, readme)
        assert compat._span(name) in doc, name


def test_is_compiling_uses_the_public_function_where_it_exists():
    public = getattr(torch.compiler, 'is_compiling', None)
    if public is not None:
        assert compat.is_compiling is public
    else:  # torch 2.1/2.2: the guarded private fallback must still exist
        assert compat.is_compiling is torch._utils.is_compiling
    assert compat.is_compiling() is False


def test_is_compiling_is_true_while_torch_compile_traces():
    seen = []

    def fn(x):
        seen.append(compat.is_compiling())
        return x + 1

    try:
        torch.compile(fn, backend='eager')(torch.ones(2))
    except RuntimeError as err:  # e.g. dynamo unsupported on this Python
        pytest.skip(f'torch.compile unavailable here: {err}')
    assert seen and all(seen)


def test_onnx_export_picks_the_torchscript_exporter():
    params = inspect.signature(torch.onnx.export).parameters
    expected = (('dynamo', False), ) if 'dynamo' in params else ()
    assert compat._onnx_export_kwargs() == expected


def test_weights_only_switch():
    assert compat.HAS_WEIGHTS_ONLY_ALLOWLIST == hasattr(
        torch.serialization, 'safe_globals')


def test_autocast_dtype_switch():
    assert compat.autocast_dtype('cpu') is None
    assert compat.autocast_dtype('meta') is None  # autocast has no meta
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        assert compat.autocast_dtype('cpu') == torch.bfloat16
        with warnings.catch_warnings():  # deprecated on new torch
            warnings.simplefilter('ignore')
            assert compat._legacy_autocast_dtype('cpu') == torch.bfloat16
    assert compat._legacy_autocast_dtype('cpu') is None


def private_torch_uses(path):
    """``torch._x`` / ``torch.a._b`` attribute chains and imports."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        dotted = None
        if isinstance(node, ast.Attribute):
            parts = []
            while isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name) and node.id == 'torch':
                dotted = '.'.join(['torch'] + parts[::-1])
        elif isinstance(node, ast.ImportFrom) and node.module:
            dotted = node.module
        elif isinstance(node, ast.Import):
            dotted = ' '.join(a.name for a in node.names)
        if dotted and dotted.startswith('torch') and any(
                p.startswith('_') and not p.startswith('__')
                for p in dotted.replace(' ', '.').split('.')):
            found.append(f'{osp.relpath(path, ROOT)}:{dotted}')
    return found


def private_getattr_uses(path):
    """``getattr(x, '_name', ...)`` / ``hasattr(x, '_name')`` lookups of a
    private name on a torch object (the guarded form, which only
    mmprelu/compat.py may hold)."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ('getattr', 'hasattr')
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and str(node.args[1].value).startswith('_')
                and 'torch' in ast.unparse(node.args[0])):
            found.append(f'{osp.relpath(path, ROOT)}:{ast.unparse(node)}')
    return found


def test_no_private_torch_api_outside_guarded_fallbacks():
    files = [
        p for d in ('mmprelu', 'tools', 'benchmarks')
        for p in (ROOT / d).rglob('*.py')
    ]
    assert len(files) > 40
    found = [use for p in files for use in private_torch_uses(p)]
    assert found == [], ('use a public API, or add a guarded fallback to '
                         f'mmprelu/compat.py: {found}')
    # guarded lookups of private torch names live in compat.py only
    guarded = [
        use for p in files if p != ROOT / 'mmprelu' / 'compat.py'
        for use in private_getattr_uses(p)
    ]
    assert guarded == [], f'move these lookups into mmprelu/compat.py: ' \
        f'{guarded}'
    assert private_getattr_uses(ROOT / 'mmprelu' / 'compat.py')
