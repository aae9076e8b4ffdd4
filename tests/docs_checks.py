"""What tests/test_docs_exec.py does with the blocks it does not run as
commands: output blocks (compared with what ran above them), config
fragments and excerpts (read with mmengine's Config), and the data sets a
``data`` marker provides."""
import ast
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

from docs_blocks import MarkerError

NUMBER = re.compile(r'\d+(?:\.\d+)?(?:e[-+]?\d+)?')


def output_pattern(expected: str) -> re.Pattern:
    """A regex for shown program output: numbers match any number (runs
    here are shortened), ``...`` matches anything (a whole line of
    ``...`` any lines), runs of spaces any spaces."""
    lines, pattern, gap = expected.strip('\n').splitlines(), [], False
    for line in lines:
        if line.strip() in ('...', '…'):
            gap = True
            continue
        parts = []
        for piece in re.split(r'(\.\.\.|\s+)', line.strip()):
            if piece == '...':
                parts.append(r'[^\n]*?')
            elif piece.isspace() or not piece:
                parts.append(r'[ \t]*' if not piece else r'[ \t]+')
            else:
                parts.append(
                    ''.join(r'[-+]?\d[\d.]*(?:e[-+]?\d+)?' if NUMBER.
                            fullmatch(bit) else re.escape(bit)
                            for bit in re.split(f'({NUMBER.pattern})', piece)))
        if pattern:
            pattern.append(
                r'[ \t]*\n(?:[^\n]*\n)*?[ \t]*' if gap else r'[ \t]*\n[ \t]*')
        pattern.append(''.join(parts))
        gap = False
    return re.compile(''.join(pattern))


def _types(value):
    if isinstance(value, dict):
        if isinstance(value.get('type'), str):
            yield value['type']
        for item in value.values():
            yield from _types(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _types(item)


def unknown_types(cfg: dict) -> list:
    """The ``type`` names of ``cfg`` that no mmpretrain registry (nor its
    mmengine parents) resolves under the ``mmpretrain`` scope."""
    import mmpretrain.registry as registries
    from mmengine.registry import DefaultScope, Registry
    found = [getattr(registries, name) for name in dir(registries)]
    found = [r for r in found if isinstance(r, Registry)]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return [
            t for t in _types(cfg) if not any(_resolves(r, t) for r in found)
        ]


def _resolves(registry, name: str) -> bool:
    try:
        return registry.get(name) is not None
    except Exception:  # an unknown scope prefix raises in some versions
        return False


def _subset(part, full, path: str) -> list:
    if isinstance(part, dict) and isinstance(full, dict):
        return [
            d for key, value in part.items()
            for d in (_subset(value, full[key], f'{path}.{key}') if key in
                      full else [f'{path}.{key}: missing'])
        ]
    return [] if part == full else [f'{path}: {part!r} != {full!r}']


def _find(cfg: dict, key: str):
    if key in cfg:
        return cfg[key], key
    for name, value in cfg.items():
        if isinstance(value, dict):
            found, path = _find(value, key)
            if path:
                return found, f'{name}.{path}'
    return None, ''


def check_config(text: str, folder: Path, excerpt: str = '') -> str:
    """Read the fragment with mmengine's Config (its custom_imports run,
    relative ``_base_`` files resolve beside ``excerpt``) and check its
    ``type`` names; for an excerpt, that the file (with its bases) has
    the same values. Returns a description; raises AssertionError."""
    from mmengine.config import Config
    where = (folder / excerpt).parent if excerpt else folder
    path = where / '_docs_fragment.py'
    path.write_text(text)
    try:
        frag = Config.fromfile(str(path)).to_dict()
    finally:
        path.unlink()
    unknown = unknown_types(frag)
    assert not unknown, f'type names no registry knows: {unknown}'
    if not excerpt:
        return f'read by mmengine Config; types {sorted(set(_types(frag)))}'
    full = Config.fromfile(str(folder / excerpt)).to_dict()
    names = [
        t.id for node in ast.parse(text).body if isinstance(node, ast.Assign)
        for t in node.targets if isinstance(t, ast.Name) and t.id != '_base_'
    ]
    problems = []
    for key, value in ((k, frag[k]) for k in names):
        found, found_at = _find(full, key)
        problems += _subset(value, found, found_at) if found_at else [
            f'{key}: not in {excerpt}'
        ]
    assert not problems, f'differs from {excerpt}: {problems}'
    return f'the same values as {excerpt} ({", ".join(names)})'


def load_tool(relative: str):
    """A script under tools/ imported as a module (tools/ is no package;
    its folder goes on ``sys.path``, as when it runs as a script, for the
    modules it imports from beside it)."""
    path = Path(__file__).resolve().parents[1] / 'tools' / relative
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def provide(kind: str, args: list, target: Path) -> None:
    """``data PATH=KIND [ARGS]``: photos (the scikit-image photo set in
    ImageNet layout), coco (the same photos as a COCO detection set: one
    box, the central half of each image, of the classes ARGS in turn)."""
    if target.exists():
        return
    converter = load_tool('dataset_converters/skimage2imagenet.py')
    if kind == 'photos':
        converter.convert(target)
    elif kind == 'coco':
        if not args:
            raise MarkerError('data ...=coco needs the class names')
        photos = target.parent / f'.{target.name}_photos'
        converter.convert(photos)
        _photos_as_coco(photos, target, args)
        shutil.rmtree(photos)
    else:
        raise MarkerError(f'data: unknown kind {kind!r} (photos, coco)')


def _photos_as_coco(photos: Path, target: Path, classes: list) -> None:
    import cv2
    (target / 'annotations').mkdir(parents=True)
    categories = [dict(id=i + 1, name=n) for i, n in enumerate(classes)]
    for split in ('train', 'val'):
        (target / split).mkdir()
        images, boxes = [], []
        lines = (photos / 'meta' / f'{split}.txt').read_text().split('\n')
        for i, line in enumerate(filter(None, lines)):
            rel, label = line.rsplit(' ', 1)
            name = rel.replace('/', '_')
            shutil.copy(photos / split / rel, target / split / name)
            img = cv2.imread(str(target / split / name), cv2.IMREAD_UNCHANGED)
            height, width = img.shape[:2]
            images.append(
                dict(id=i + 1, file_name=name, width=width, height=height))
            box = [width / 4, height / 4, width / 2, height / 2]
            boxes.append(
                dict(
                    id=i + 1,
                    image_id=i + 1,
                    bbox=box,
                    iscrowd=0,
                    area=box[2] * box[3],
                    category_id=1 + int(label) % len(classes)))
        (target / 'annotations' / f'{split}.json').write_text(
            json.dumps(
                dict(images=images, annotations=boxes, categories=categories)))
