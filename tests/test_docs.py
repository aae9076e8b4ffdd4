"""The README is the front door (issue 15 item 8): short, its links and those
of docs/ lead somewhere, and its test command is what CI runs."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / 'README.md', ROOT / 'DEVELOPERS.md'] + sorted(
    (ROOT / 'docs').glob('*.md'))
LINK = re.compile(r'\]\(([^)#\s]+)(?:#[^)]*)?\)')


def test_readme_is_short():
    lines = (ROOT / 'README.md').read_text().splitlines()
    assert 100 <= len(lines) <= 200, len(lines)


@pytest.mark.parametrize('doc', DOCS, ids=lambda p: p.name)
def test_relative_links_exist(doc):
    missing = [target for target in LINK.findall(doc.read_text())
               if '://' not in target and not target.startswith('mailto:')
               and not (doc.parent / target).exists()]
    assert missing == [], f'{doc.relative_to(ROOT)}: {missing}'


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / 'README.md').read_text()
    command = 'bash tools/run_tests.sh'
    assert command in readme
    assert command in (ROOT / '.ci' / 'run').read_text()


def test_readme_project_files_are_the_tested_ones():
    """The README's project files are docs/downstream.md's, which
    tests/test_tools/test_downstream.py trains from an installed wheel."""
    from wheel_install import doc_files
    readme = doc_files(ROOT / 'README.md')
    tested = doc_files(ROOT / 'docs' / 'downstream.md')
    assert set(readme) == {'my_classifier.py', 'my_classifier_text.py'}
    for name, text in readme.items():
        assert text == tested[name], name
