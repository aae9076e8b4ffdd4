"""Executed docs: every code block of README.md and docs/*.md is run,
checked or skipped with a reason, read from the Markdown at test time, so
the docs cannot drift from what is tested.

The walk: README.md first (its quick start trains the digits demo model,
``work_dirs/demo_digits/epoch_24.pth``, which later pages use), then each
page of docs/ in name order, in one checkout copy outside the repository
(a fresh clone's files, ``data/`` and ``work_dirs/`` empty; the package
itself is the tested one; ``tools/setup_env.sh`` is a stub: the set-up is
the test's environment). A page marked ``in project`` runs in its own
empty folder with mmprelu installed from its wheel (tests/wheel_install.py)
and the repository off the path. Commands run with bash, one at a time, in
that folder; a shell variable a command assigns (``MMPRELU=$(...)``) is
kept for the rest of the page. A command already run in the same folder
is not run again (the demo, shown on two pages, trains once).

What a block is, by default: a ``bash``/``sh``/``shell``/``console`` fence
or an indented block is run command by command; a ``python`` fence is
written to a file and run with ``python``; a block after ``<!-- file: NAME
-->`` is written to NAME. Any other block needs a marker. Markers are HTML
comments right above the block (invisible on GitHub), one directive each:

    <!-- docs-test: skip (REASON) -->           not run: ImageNet, GPUs,
                                                several nodes, Slurm, ...
    <!-- docs-test: skip "TEXT" (REASON) -->    leave out the commands that
                                                contain TEXT, run the rest
    <!-- docs-test: output -->                  program output: compared
                                                with the output of the block
                                                run above it (any number
                                                matches a number, ``...``
                                                anything)
    <!-- docs-test: output (REASON) -->         output not produced here
    <!-- docs-test: text (REASON) -->           neither command nor output
    <!-- docs-test: config -->                  a config fragment: read with
                                                mmengine's Config, its type
                                                names resolved in mmpretrain's
                                                registries
    <!-- docs-test: excerpt of PATH -->         the same, and its values are
                                                those of config PATH
    <!-- docs-test: provided (REASON) -->       done by the test itself (e.g.
                                                ``pip install .``: the wheel)
    <!-- docs-test: placeholders NAME=VALUE ... -->  fill in usage words
    <!-- docs-test: run with ARGS -->           appended to every command:
                                                THE way to shrink a run
                                                (epochs, images, repeats)
    <!-- docs-test: needs MODULE|cuda ... -->   skipped, saying so, where a
                                                module or CUDA is missing
    <!-- docs-test: data PATH=KIND [ARGS] -->   write a data set first:
                                                photos, or coco CLASS...
    <!-- docs-test: in project -->              run in the project folder
    <!-- docs-test: timeout SECONDS -->         per command (default 300)

``<!-- docs-test-page: ... -->`` anywhere on a page applies ``in project``,
``placeholders`` or ``needs`` to all its blocks. Usage lines need no
marker for their optional parts: ``[...]`` groups are left out, and a word
``a|b|c`` runs once per alternative. A word that still looks like a
placeholder (``CONFIG``, ``<dir>``) fails, naming the file and line.
"""
import sys

import pytest

from docs_blocks import (PAGES, MarkerError, commands, expand_alternatives,
                         leftover_placeholders, read_page, strip_optional,
                         substitute)
from docs_checks import output_pattern
from docs_runner import Walk, planned_commands
from docs_zygote import REFUSED


def test_usage_lines_become_commands():
    text = ('python tools/test.py CONFIG CKPT [--out F [--x]]  # centre\n'
            'python a.py --p whole|dense \\\n    --q "[1,2]" # "x"\n')
    assert commands(text) == [
        (0, 'python tools/test.py CONFIG CKPT [--out F [--x]]'),
        (1, 'python a.py --p whole|dense --q "[1,2]"')
    ]
    line = strip_optional(commands(text)[0][1])
    assert line == 'python tools/test.py CONFIG CKPT'
    assert leftover_placeholders(line) == ['CONFIG', 'CKPT']
    assert leftover_placeholders('x.py --labels MSRA <dir>') == ['<dir>']
    assert substitute(line, {'CONFIG': 'c.py', 'CKPT': 'e.pth'}) == \
        'python tools/test.py c.py e.pth'
    assert expand_alternatives(commands(text)[1][1]) == [
        'python a.py --p whole --q "[1,2]"',
        'python a.py --p dense --q "[1,2]"'
    ]


def test_output_blocks_match_loosely():
    pattern = output_pattern(' top-1 = 99.44 % (centre)\n  ...\n'
                             ' checkpoint: .../epoch_24.pth\n')
    assert pattern.search('x\n top-1 = 10.00 % (centre)\nmore\nlines\n'
                          ' checkpoint: /tmp/w/epoch_24.pth')
    assert not pattern.search(' top-1 = 10.00 % (dense)\n'
                              ' checkpoint: /tmp/epoch_24.pth')


@pytest.fixture(scope='session')
def walk(tmp_path_factory):
    walk = Walk(tmp_path_factory.mktemp('docs'))
    yield walk
    walk.close()


@pytest.mark.parametrize('page', PAGES)
def test_every_block_is_classified(page):
    """Static (nothing runs): the markers parse, every block has a kind,
    every command left to run has its placeholders filled in, and an
    output block to compare follows a block that runs."""
    parsed = read_page(page)
    problems, runs = [], False
    for block in parsed.blocks:
        try:
            kind = block.kind
            if kind is None:
                raise MarkerError(f'{block.where}: an unclassified block: '
                                  f'give it a docs-test marker')
            if kind == 'bash':
                planned_commands(block, parsed.directives)
            if kind == 'output' and not block.reason and not runs:
                raise MarkerError(f'{block.where}: output with no block '
                                  f'run above it: give a reason')
            runs = kind in ('bash', 'python') or (runs and kind == 'output')
        except MarkerError as err:
            problems.append(str(err))
    assert not problems, '\n'.join(problems)


def test_python_of_the_walk_is_python(walk):
    """A command's ``python`` (the warm interpreter when it serves) gets
    the arguments, working directory, environment and module path a fresh
    interpreter gets, and its exit status however it ends."""
    if walk.zygote and not walk.zygote_ready():
        assert walk.zygote.returncode == REFUSED, (
            f'the warm interpreter died: exit status '
            f'{walk.zygote.returncode}')
    ctx, probe = walk.checkout, ('import os, sys; print(sys.argv[1:], '
                                 'os.getcwd(), os.environ["X"], sys.path)')
    code, out, _ = walk.shell(ctx, f"X=1 python -c '{probe}' a b", '', 60)
    fresh = walk.shell(ctx, f"X=1 {sys.executable} -c '{probe}' a b", '', 60)
    assert (code, out) == fresh[:2] and "['a', 'b']" in out
    for command, status in (('import os; os._exit(7)',
                             7), ('import sys; sys.exit(3)', 3),
                            ('import os; os.kill(os.getpid(), 15)', 143)):
        assert walk.shell(ctx, f"python -c '{command}'", '', 60)[0] == status


@pytest.mark.parametrize('page', PAGES)
def test_page_runs_as_written(page, walk, request, capsys):
    walk.installed = lambda: request.getfixturevalue('installed_wheel')
    outcomes = walk.run_page(page)
    with capsys.disabled():
        print(f'\n{page}: {len(outcomes)} blocks, '
              f'{walk.seconds[page]:.0f} s (commands: CPU '
              f'{walk.cpu[page]:.0f} s); outputs in {walk.logs}')
        for outcome in outcomes:
            print(outcome.line().split('\n')[0][:200])
    assert len(outcomes) == len(read_page(page).blocks)
    failed = [o for o in outcomes if o.status == 'failed']
    assert not failed, '\n\n'.join(f'{o.where} ({o.kind}): {o.detail}'
                                   for o in failed)
    for outcome in outcomes:
        if outcome.status in ('skipped', 'provided', 'shown'):
            assert outcome.detail, f'{outcome.where}: no reason given'


def test_walk_summary(walk, request, capsys):
    """One table for the whole walk (the pages not run yet run now)."""
    walk.installed = lambda: request.getfixturevalue('installed_wheel')
    groups = {
        'run': ('ran', ),
        'checked': ('checked', 'compared', 'written'),
        'skipped': ('skipped', 'provided'),
        'shown': ('shown', ),
        'failed': ('failed', )
    }
    lines = [
        f'{"page":<36}' + ''.join(f'{g:>9}'
                                  for g in groups) + '   wall s   CPU s'
    ]
    for page in PAGES:
        outcomes = walk.run_page(page)
        assert len(outcomes) == len(read_page(page).blocks), page
        counts = [
            sum(o.status in statuses for o in outcomes)
            for statuses in groups.values()
        ]
        lines.append(f'{page:<36}' + ''.join(f'{c:>9}' for c in counts) +
                     f'{walk.seconds[page]:>9.0f}{walk.cpu[page]:>8.0f}')
    lines.append(f'{"total":<36}{"":>45}{sum(walk.seconds.values()):>9.0f}'
                 f'{sum(walk.cpu.values()):>8.0f}  (of which building the '
                 f'wheel {walk.cpu.get("(wheel)", 0):.0f} s; + the warm '
                 f'interpreter\'s imports {walk.zygote_cpu():.0f} s)')
    with capsys.disabled():
        print('\nexecuted docs:\n' + '\n'.join(lines))
