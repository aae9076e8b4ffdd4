"""Generate the new-style configs ``mmprelu/configs/`` from the text
configs ``configs/`` (their single source of truth).

    python tools/misc/generate_package_configs.py           # (re)write them
    python tools/misc/generate_package_configs.py --check   # exit 1 if stale

Each ``configs/<path>.py`` becomes ``mmprelu/configs/<module>.py``
(:func:`mmprelu.apis.config_names.module_name`: ``-`` -> ``_``), the text
kept line for line (comments too) except for what mmengine's pure-Python
style reads differently:

* ``_base_ = [...]`` (the first statement) -> ``with read_base():`` and one
  relative ``from .<module> import *`` per base, in the same order;
* ``name = <dict>`` where a base defines ``name`` as a dict ->
  ``name.merge(<dict>)``: ``ConfigDict.merge`` is the text style's
  inheritance (recursive, ``_delete_=True`` replaces); other assignments
  stay as they are (a text config replaces non-dict values whole);
* after ``custom_imports = ...``: ``__import__(<module>)`` for each module,
  since mmengine honours ``custom_imports`` in text configs only (stock
  tools must get our modules registered by reading the config);
* a cross-package base (``mmpretrain::_base_/models/resnet50.py``) ->
  an import of ``_upstream_/<package>/<path>``, a module generated from
  that package's installed text config: a new-style config cannot import
  another package's text configs, so the module holds the values a text
  config inheriting it gets (mmengine's ``_scope_`` tags included).

Refused, naming the file and line (the text config must be simplified, or
this tool extended): statements other than assignments to one name,
``_base_`` after other statements, ``{{...}}`` substitutions, reading
``_base_``, and a merged name that is assigned twice
or read afterwards (the text style would see the child's own partial
dict there, the new style the merged one).
"""
import argparse
import ast
import functools
import posixpath
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # this checkout's mmprelu, not an installed one

from mmengine.config import Config  # noqa: E402
from mmengine.config.utils import MODULE2PACKAGE  # noqa: E402

from mmprelu.apis.config_names import config_names, module_name  # noqa: E402

SRC = ROOT / 'configs'
OUT = ROOT / 'mmprelu' / 'configs'
TOOL = 'tools/misc/generate_package_configs.py'
PACKAGE_DOC = (
    '"""New-style (pure Python) mmengine configs of mmprelu, generated from '
    'the\ntext configs in configs/ by {tool}\n(do not edit: edit those and '
    'rerun the tool). Use them as\n``with read_base(): from '
    'mmprelu.configs.prelu_net_c_8xb16 import *``\n(docs/downstream.md).\n'
    '"""\n')
UPSTREAM = '_upstream_'
UPSTREAM_NOTE = (
    '# Generated from {base}\n# ({dist} {version}) by {tool}:\n'
    '# the values a text config inheriting it gets (new-style configs cannot\n'
    '# import another package\'s text configs); do not edit.\n')
IMPORT_NOTE = (
    '# mmengine imports `custom_imports` for text configs only: a new-style\n'
    '# config imports them itself, while it is read (docs/downstream.md)\n')


class GenerateError(ValueError):
    """A text config this tool cannot translate faithfully."""


def _fail(rel, node, message):
    raise GenerateError(f'configs/{rel}:{node.lineno}: {message}')


def _offset(lines, lineno, col):
    """Text offset of an AST position (``col`` counts UTF-8 bytes)."""
    line = lines[lineno - 1]
    return sum(map(len, lines[:lineno - 1])) + len(
        line.encode('utf-8')[:col].decode('utf-8'))


def _upstream_rel(base: str) -> str:
    """``'mmdet::a/b.py'`` -> ``'_upstream_/mmdet/a/b.py'``."""
    return posixpath.join(UPSTREAM, *base.split('::', 1))


@functools.lru_cache(maxsize=None)
def _upstream_values(base: str) -> dict:
    """What a text config inheriting ``base`` (``pkg::path``) gets."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / 'inherit.py'
        path.write_text(f'_base_ = [{base!r}]\n', encoding='utf-8')
        return Config.fromfile(path, import_custom_modules=False).to_dict()


def _upstream_module(base: str) -> str:
    """The generated module of the cross-package base ``base``."""
    package = base.split('::', 1)[0]
    dist = MODULE2PACKAGE.get(package, package)
    return UPSTREAM_NOTE.format(
        base=base, dist=dist, version=metadata.version(dist),
        tool=TOOL) + Config(_upstream_values(base)).pretty_text


def _relative_import(rel, base, src):
    """``from <relative module> import *`` for ``base`` (a ``_base_`` entry
    of configs/``rel``)."""
    target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), base))
    if '::' in base:
        target = _upstream_rel(base)
    elif target.startswith('../') or not (src / target).is_file():
        raise GenerateError(f'configs/{rel}: base {base!r} is no file under '
                            f'configs/')
    here = module_name(rel, package='').split('.')[1:-1]
    there = module_name(target, package='').split('.')[1:]
    common = 0
    while common < min(len(here), len(there) - 1) and \
            here[common] == there[common]:
        common += 1
    dots = '.' * (len(here) - common + 1)
    return f'from {dots}{".".join(there[common:])} import *\n'


@functools.lru_cache(maxsize=None)
def _load(path: Path) -> dict:
    return Config.fromfile(path, import_custom_modules=False).to_dict()


def _base_values(rel, bases, src):
    """Top-level names of the merged bases -> their values."""
    values = {}
    for base in bases:
        if '::' in base:
            values.update(_upstream_values(base))
            continue
        path = (src / posixpath.dirname(rel) / base).resolve()
        values.update(_load(path))
    return values


def _statements(rel, tree):
    """Check the top level; return ``((node, list) of _base_`` or None, the
    other assignments)."""
    bases, assigns = None, []
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            _fail(rel, node, 'only assignments to one name are supported')
        if node.targets[0].id != '_base_':
            assigns.append(node)
        elif assigns:
            _fail(rel, node, '_base_ must come before other statements')
        else:
            bases = ast.literal_eval(node.value)
            bases = [bases] if isinstance(bases, str) else list(bases)
            bases = (node, bases)
    for node in assigns:
        for sub in ast.walk(node.value):
            if isinstance(sub, ast.Name) and sub.id == '_base_':
                _fail(rel, sub, 'reading _base_ is not supported')
    return bases, assigns


def _check_merged(rel, name, later):
    """A merged name must not be assigned or read again: the text style
    would see the config's own partial dict there, the new style the merged
    one."""
    for node in later:
        if node.targets[0].id == name:
            _fail(rel, node, f'{name} is merged into its base and assigned '
                  f'again')
        if any(
                isinstance(n, ast.Name) and n.id == name
                for n in ast.walk(node.value)):
            _fail(rel, node, f'{name} is merged into its base and read '
                  f'afterwards')


def translate(rel: str, src: Path = SRC) -> str:
    """The new-style text of ``src/rel`` (``src``: the text configs)."""
    text = (src / rel).read_text(encoding='utf-8')
    if '{{' in text:
        raise GenerateError(f'configs/{rel}: {{{{...}}}} substitutions are '
                            f'not supported')
    tree = ast.parse(text, filename=rel)
    bases, assigns = _statements(rel, tree)
    own = {}  # the config's own values, evaluated as mmengine does
    exec(compile(ast.Module(body=assigns, type_ignores=[]), rel, 'exec'), own)
    imports = [_relative_import(rel, b, src) for b in bases[1]] \
        if bases else []  # first: checks that the bases exist
    inherited = _base_values(rel, bases[1], src) if bases else {}
    lines = text.splitlines(keepends=True)
    edits = []  # (start, end, replacement)
    for index, node in enumerate(assigns):
        name = node.targets[0].id
        value = node.value
        end = _offset(lines, value.end_lineno, value.end_col_offset)
        if isinstance(inherited.get(name), dict) and \
                isinstance(own[name], dict):
            _check_merged(rel, name, assigns[index + 1:])
            start = _offset(lines, node.lineno, node.col_offset)
            head = _offset(lines, value.lineno, value.col_offset)
            edits += [(start, head, f'{name}.merge('), (end, end, ')')]
        if name == 'custom_imports':
            if own[name].get('allow_failed_imports', False):
                _fail(rel, node, 'allow_failed_imports=True is not supported')
            line_end = text.index('\n', end) + 1 if '\n' in text[end:] \
                else len(text)
            calls = ''.join(f'__import__({m!r})\n'
                            for m in own[name]['imports'])
            edits.append((line_end, line_end, IMPORT_NOTE + calls))
    if bases:
        node = bases[0]
        block = 'from mmengine.config import read_base\n\nwith read_base():\n'
        block += ''.join('    ' + line for line in imports)
        start = _offset(lines, node.lineno, node.col_offset)
        end = _offset(lines, node.end_lineno, node.end_col_offset)
        if text[end:end + 1] == '\n':
            end += 1
        if text[end:end + 1] not in ('\n', ''):
            block += '\n'
        edits.append((start, end, block))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    header = (f'# Generated from configs/{rel}\n# by {TOOL}:\n'
              f'# do not edit; edit that file and rerun the tool.\n')
    return header + text


def generate(src: Path = SRC) -> dict:
    """Every file of mmprelu/configs from the text configs in ``src``:
    {path relative to mmprelu/configs: text}."""
    files = {'__init__.py': PACKAGE_DOC.format(tool=TOOL)}
    upstream = set()
    for rel in config_names(src):
        bases = _statements(rel, ast.parse((src / rel).read_text('utf-8')))[0]
        upstream.update(b for b in (bases or ((), ()))[1] if '::' in b)
    sources = [(rel, translate) for rel in config_names(src)] + [
        (_upstream_rel(base), lambda _, __, b=base: _upstream_module(b))
        for base in sorted(upstream)
    ]
    for rel, make in sources:
        parts = module_name(rel, package='').split('.')[1:]
        out = '/'.join(parts) + '.py'
        if out in files:
            raise GenerateError(f'configs/{rel}: its module {out} is taken '
                                f'by another config')
        files[out] = make(rel, src)
        for i in range(1, len(parts)):
            init = '/'.join(parts[:i] + ['__init__.py'])
            files.setdefault(init, f'# Generated by {TOOL}.\n')
    return files


def stale(files: dict, out: Path = OUT) -> list:
    """Paths under ``out`` that differ from ``files`` (missing, changed or
    extra)."""
    have = {p.relative_to(out).as_posix() for p in out.rglob('*.py')} \
        if out.is_dir() else set()
    changed = [
        p for p in files
        if p not in have or (out / p).read_text(encoding='utf-8') != files[p]
    ]
    return sorted(changed + sorted(have - set(files)))


def write(files: dict, out: Path = OUT) -> list:
    """Make ``out`` hold exactly ``files``; return what changed."""
    changed = stale(files, out)
    for rel in changed:
        path = out / rel
        if rel in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[rel], encoding='utf-8')
        else:
            path.unlink()
    for folder in sorted(out.rglob('*'), reverse=True):
        if folder.is_dir() and not any(folder.glob('**/*.py')):
            shutil.rmtree(folder)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--check',
        action='store_true',
        help='change nothing; exit 1 if mmprelu/configs '
        'differs from what configs/ gives')
    args = parser.parse_args(argv)
    try:
        files = generate()
    except GenerateError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    if args.check:
        changed = stale(files)
        if changed:
            print(
                f'mmprelu/configs is out of date with configs/ '
                f'({len(changed)} files: {", ".join(changed[:8])}'
                f'{", ..." if len(changed) > 8 else ""}); run `python '
                f'{TOOL}`',
                file=sys.stderr)
            return 1
        print(f'mmprelu/configs is up to date ({len(files)} files)')
        return 0
    changed = write(files)
    print(f'mmprelu/configs: {len(changed)} of {len(files)} files written '
          f'or removed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
