"""The README is the front door: short, its links and those of docs/ lead
somewhere (files, and sections: anchors and quoted section names), and
its test command is what CI runs. Running the docs' blocks is
tests/test_docs_exec.py."""
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from docs_blocks import MARKER, heading_slugs, read_page

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / 'README.md', ROOT / 'DEVELOPERS.md'] + sorted(
    (ROOT / 'docs').glob('*.md'))
#: Prose that names a section: `see "X"`, `section "X"`, `"X" section`,
#: `README's "X" section`, `"X" in page.md`.
SECTION_REF = re.compile(
    r'(?:(?P<owner>README|[\w./-]+\.md)\'s )?"(?P<a>[^"\n]+)" section'
    r'|(?:see|section) "(?P<b>[^"\n]+)"(?: (?:in|of) (?P<page_b>'
    r'[\w./-]+\.md))?'
    r'|"(?P<c>[^"\n]+)" (?:in|of) (?P<page_c>[\w./-]+\.md)')


def rel(doc: Path) -> str:
    return str(doc.relative_to(ROOT))


def links_and_prose(doc: Path):
    """([link targets], prose text outside code), as rendered."""
    targets, prose = [], []
    for token in MarkdownIt('commonmark').parse(doc.read_text()):
        for child in token.children or ():
            if child.type in ('link_open', 'image'):
                targets.append(child.attrGet('href') or child.attrGet('src'))
            elif child.type in ('text', 'softbreak'):
                prose.append(child.content or ' ')
        if token.type == 'paragraph_close':
            prose.append('\n')
    return targets, ' '.join(''.join(prose).split(' '))


def resolve(doc: Path, target: str) -> Path:
    for base in (doc.parent, ROOT):
        if (base / target).exists():
            return base / target
    return doc.parent / target


def headings(page: Path) -> list:
    return read_page(rel(page)).headings


def test_readme_is_short():
    """Marker comments of the executed docs (invisible) do not count."""
    lines = [
        line for line in (ROOT / 'README.md').read_text().splitlines()
        if not MARKER.fullmatch(line.strip())
    ]
    assert 100 <= len(lines) <= 200, len(lines)


@pytest.mark.parametrize('doc', DOCS, ids=lambda p: p.name)
def test_relative_links_exist(doc):
    """Every relative link's file exists, and its ``#anchor`` is a heading
    of that page (GitHub's anchor rule)."""
    problems = []
    for target in links_and_prose(doc)[0]:
        if '://' in target or target.startswith('mailto:'):
            continue
        path, _, anchor = target.partition('#')
        page = resolve(doc, path) if path else doc
        if not page.exists():
            problems.append(f'{target}: no such file')
        elif anchor and page.suffix == '.md' and anchor not in \
                heading_slugs(headings(page)):
            problems.append(f'{target}: no heading with anchor #{anchor} in '
                            f'{rel(page)}')
    assert problems == [], f'{rel(doc)}: {problems}'


@pytest.mark.parametrize('doc', DOCS, ids=lambda p: p.name)
def test_named_sections_exist(doc):
    """A section named in prose (``see "X"``, ``README's "X" section``,
    ``"X" in page.md``) is a heading of that page, or of this page when
    none is named."""
    problems = []
    for match in SECTION_REF.finditer(links_and_prose(doc)[1]):
        title = match.group('a') or match.group('b') or match.group('c')
        owner = (
            match.group('owner') or match.group('page_b')
            or match.group('page_c'))
        page = doc if not owner else resolve(
            doc, 'README.md' if owner == 'README' else owner)
        names = [' '.join(h.split()).lower() for h in headings(page)] \
            if page.exists() else []
        if ' '.join(title.split()).lower() not in names:
            problems.append(f'"{title}": no such section in {rel(page)}')
    assert problems == [], f'{rel(doc)}: {problems}'


def test_section_references_are_checked():
    """The rule catches a dangling reference and accepts a real one."""
    text = 'see "Environment facts"; the README\'s "Performance" section'
    found = [(m.group('b'), m.group('a'), m.group('owner'))
             for m in SECTION_REF.finditer(text)]
    assert found == [('Environment facts', None, None),
                     (None, 'Performance', 'README')]
    assert heading_slugs(['Use `pkg_resources` here', 'A (b) c', 'A b c']) \
        == ['use-pkg_resources-here', 'a-b-c', 'a-b-c-1']


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / 'README.md').read_text()
    command = 'bash tools/run_tests.sh'
    assert command in readme
    assert command in (ROOT / '.ci' / 'run').read_text()


def test_readme_project_files_are_the_tested_ones():
    """The README's project files are docs/downstream.md's, which
    tests/test_docs_exec.py runs from an installed wheel."""
    from wheel_install import doc_files
    readme = doc_files(ROOT / 'README.md')
    tested = doc_files(ROOT / 'docs' / 'downstream.md')
    assert set(readme) == {'my_classifier.py', 'my_classifier_text.py'}
    for name, text in readme.items():
        assert text == tested[name], name
