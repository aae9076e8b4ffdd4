"""The code blocks of README.md and docs/*.md and their ``docs-test``
markers, read from the Markdown (CommonMark, via markdown-it-py, which
mmengine's ``rich`` brings): what tests/test_docs_exec.py runs, and how.
The marker vocabulary is in tests/test_docs_exec.py and DEVELOPERS.md
("Executed docs")."""
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
#: The pages whose blocks are executed, in the order a reader walks them.
PAGES = ['README.md'] + sorted(f'docs/{p.name}'
                               for p in (ROOT / 'docs').glob('*.md'))

MARKER = re.compile(r'<!--\s*docs-test(-page)?:\s*(.*?)\s*-->', re.S)
FILE_MARKER = re.compile(r'<!--\s*file:\s*(\S+)\s*-->')
SHELL_LANGS = {'bash', 'sh', 'shell', 'console'}
#: Directives that decide what a block is; at most one per block.
KINDS = {'skip', 'output', 'text', 'config', 'excerpt', 'provided'}
#: Directives allowed on a whole page (``docs-test-page:``).
PAGE_DIRECTIVES = {'in-project', 'placeholders', 'needs'}
_FORMS = [
    ('skip', r'skip(?:\s+"(?P<text>[^"]+)")?\s+\((?P<reason>.+)\)'),
    ('output', r'output(?:\s+\((?P<reason>.+)\))?'),
    ('text', r'text\s+\((?P<reason>.+)\)'),
    ('config', r'config'),
    ('excerpt', r'excerpt of (?P<arg>\S+)'),
    ('provided', r'provided\s+\((?P<reason>.+)\)'),
    ('needs', r'needs\s+(?P<arg>[\w.]+(?:\s+[\w.]+)*)'),
    ('placeholders', r'placeholders\s+(?P<arg>.+)'),
    ('run-with', r'run with\s+(?P<arg>.+)'),
    ('in-project', r'in project'),
    ('data', r'data\s+(?P<arg>\S+=\S+(?:\s+.+)?)'),
    ('timeout', r'timeout\s+(?P<arg>\d+)'),
]


class MarkerError(ValueError):
    """A marker that is not in the vocabulary, or blocks left unclassified."""


@dataclass
class Directive:
    name: str
    arg: str = ''
    reason: str = ''
    text: str = ''


def parse_directive(source: str, where: str) -> Directive:
    source = ' '.join(source.split())
    for name, form in _FORMS:
        match = re.fullmatch(form, source)
        if match:
            groups = {k: v or '' for k, v in match.groupdict().items()}
            return Directive(name, **groups)
    raise MarkerError(f'{where}: unknown docs-test marker {source!r}; see '
                      f'the vocabulary at the top of '
                      f'tests/test_docs_exec.py')


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence (or first indented line)
    lang: str
    text: str
    indented: bool = False
    directives: List[Directive] = field(default_factory=list)
    file: Optional[str] = None

    @property
    def where(self) -> str:
        return f'{self.page}:{self.line}'

    def all(self, name: str) -> List[Directive]:
        return [d for d in self.directives if d.name == name]

    def get(self, name: str) -> Optional[Directive]:
        found = self.all(name)
        return found[0] if found else None

    @property
    def kind(self) -> Optional[str]:
        """skip, output, text, config, excerpt, provided, file, bash or
        python; None for a block nothing classifies."""
        kinds = [
            d.name for d in self.directives
            if d.name in KINDS and not (d.name == 'skip' and d.text)
        ]
        kinds += ['file'] if self.file else []
        if len(kinds) > 1:
            raise MarkerError(f'{self.where}: the markers {kinds} '
                              f'contradict each other; keep one')
        if kinds:
            return kinds[0]
        if self.indented or self.lang in SHELL_LANGS:
            return 'bash'
        return 'python' if self.lang == 'python' else None

    @property
    def reason(self) -> str:
        found = [d.reason for d in self.directives if d.name in KINDS]
        return found[0] if found else ''


@dataclass
class Page:
    path: str
    blocks: List[Block]
    directives: List[Directive]
    headings: List[str]


def _heading_text(inline) -> str:
    return ''.join(child.content for child in inline.children or ()
                   if child.type in ('text', 'code_inline'))


def read_page(path: str) -> Page:
    """Blocks (each with the markers of the HTML comments right above it,
    blank lines allowed in between), page directives and heading texts."""
    text = (ROOT / path).read_text(encoding='utf-8')
    tokens = MarkdownIt('commonmark').parse(text)
    blocks, page_directives, headings, pending = [], [], [], []
    for i, token in enumerate(tokens):
        if token.type == 'html_block':
            for match in MARKER.finditer(token.content):
                where = f'{path}:{token.map[0] + 1}'
                directive = parse_directive(match.group(2), where)
                if match.group(1):
                    if directive.name not in PAGE_DIRECTIVES:
                        raise MarkerError(
                            f'{where}: {directive.name!r} cannot apply to a '
                            f'whole page (only {sorted(PAGE_DIRECTIVES)})')
                    page_directives.append(directive)
                else:
                    pending.append(('d', directive))
            for match in FILE_MARKER.finditer(token.content):
                pending.append(('f', match.group(1)))
            continue
        if token.type in ('fence', 'code_block'):
            block = Block(path, token.map[0] + 1,
                          token.info.strip().split(' ')[0].lower(),
                          token.content, token.type == 'code_block')
            for what, value in pending:
                if what == 'd':
                    block.directives.append(value)
                else:
                    block.file = value
            blocks.append(block)
        elif token.type == 'inline' and tokens[i - 1].type == 'heading_open':
            headings.append(_heading_text(token))
        if pending and token.type not in ('fence', 'code_block'):
            lost = f'{path}:{token.map[0] + 1}' if token.map else path
            raise MarkerError(f'{lost}: a docs-test marker is not followed '
                              f'by a code block (page-wide markers are '
                              f'written <!-- docs-test-page: ... -->)')
        pending = []
    return Page(path, blocks, page_directives, headings)


def heading_slugs(headings: List[str]) -> List[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation
    other than ``-`` and ``_`` dropped, spaces to ``-``, repeats numbered
    (``-1``, ``-2``, ...)."""
    seen, slugs = {}, []
    for heading in headings:
        slug = ''.join(ch for ch in heading.strip().lower()
                       if ch.isalnum() or ch in '-_ ').replace(' ', '-')
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        slugs.append(slug if count == 0 else f'{slug}-{count}')
    return slugs


# --- commands of a shell block ------------------------------------------


def _scan(text: str):
    """(index, char, quoted) of ``text``; quoted is True inside '...',
    "..." and $(...)."""
    quote, depth, i = '', 0, 0
    while i < len(text):
        ch = text[i]
        quoted = bool(quote or depth)
        yield i, ch, quoted
        if quote:
            if ch == '\\' and quote == '"':
                i += 1
            elif ch == quote:
                quote = ''
        elif ch in '\'"':
            quote = ch
        elif text.startswith('$(', i):
            depth += 1
        elif ch == ')' and depth:
            depth -= 1
        i += 1


def strip_comment(line: str) -> str:
    for i, ch, quoted in _scan(line):
        if ch == '#' and not quoted and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def strip_optional(command: str) -> str:
    """Drop the optional parts of a usage line: ``[...]`` groups (nested
    too) that start a word, outside quotes."""
    out, depth = [], 0
    for i, ch, quoted in _scan(command):
        if not quoted and ch == '[' and (depth or i == 0
                                         or command[i - 1].isspace()):
            depth += 1
        elif not quoted and ch == ']' and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return ' '.join(''.join(out).split())


def commands(text: str):
    """[(line offset in the block, command)]: continuation lines joined,
    comments and blank lines dropped."""
    found, current, start = [], '', 0
    for offset, line in enumerate(text.splitlines()):
        if not current:
            start = offset
        if line.rstrip().endswith('\\'):
            current += line.rstrip()[:-1] + ' '
            continue
        command = strip_comment(current + line)
        current = ''
        if command.strip():
            found.append((start, ' '.join(command.split())))
    return found


ALTERNATIVES = re.compile(r'(?<!\S)([\w.-]+(?:\|[\w.-]+)+)(?!\S)')


def expand_alternatives(command: str) -> List[str]:
    """A usage word ``a|b|c`` gives one command per alternative."""
    match = ALTERNATIVES.search(command)
    if not match:
        return [command]
    head, tail = command[:match.start()], command[match.end():]
    return [
        c for alt in match.group(1).split('|')
        for c in expand_alternatives(head + alt + tail)
    ]


def substitute(command: str, placeholders: dict) -> str:
    for name in sorted(placeholders, key=len, reverse=True):
        command = re.sub(rf'(?<![\w$]){re.escape(name)}(?!\w)',
                         lambda _: placeholders[name], command)
    return command


PLACEHOLDER = re.compile(r'[A-Z][A-Z0-9_]{2,}(?:\.\w+)?|.*<[\w ]+>.*')


def leftover_placeholders(command: str) -> List[str]:
    """Words that look like unfilled usage placeholders: ``<...>``, or an
    upper-case word (``CONFIG``) that is not the value of an option
    (``--labels MSRA``)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    return [
        w for i, w in enumerate(words) if PLACEHOLDER.fullmatch(w) and (
            '<' in w or i == 0 or not words[i - 1].startswith('-'))
    ]


def parse_placeholders(arg: str) -> dict:
    pairs = {}
    for word in shlex.split(arg):
        name, sep, value = word.partition('=')
        if not sep:
            raise MarkerError(f'placeholders: {word!r} is not NAME=VALUE')
        pairs[name] = value
    return pairs
