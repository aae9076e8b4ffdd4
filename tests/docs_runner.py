"""The walk of tests/test_docs_exec.py: every block of a page, in order,
in a checkout copy outside the repository (or a project folder with
mmprelu installed from its wheel), with a record of what happened to each.
"""
import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List

import docs_checks
from docs_blocks import (Block, MarkerError, commands, expand_alternatives,
                         leftover_placeholders, parse_placeholders, read_page,
                         strip_optional, substitute)
from docs_sandbox import (Context, assigned_name, free_port, make_bin,
                          make_checkout, start_zygote, user_env)

TIMEOUT = 300  # seconds per command unless a block says ``timeout N``


@dataclass
class Outcome:
    where: str
    kind: str
    status: str  # ran, skipped, provided, compared, shown, checked, written,
    #             failed
    detail: str = ''
    seconds: float = 0.0
    cpu: float = 0.0  # CPU seconds of the commands (user + system)

    def line(self) -> str:
        took = (f' ({self.seconds:.0f} s, CPU {self.cpu:.0f} s)'
                if self.seconds >= 1 else '')
        return f'  {self.where:<40} {self.kind:<8} {self.status}{took}' + (
            f': {self.detail}' if self.detail else '')


def planned_commands(block: Block, page_directives=()):
    """([(file:line, command)] to run, [notes on skipped commands]):
    optional parts dropped, placeholders filled in, alternatives expanded,
    commands marked ``skip "TEXT" (REASON)`` left out."""
    placeholders = {}
    for d in list(page_directives) + block.all('placeholders'):
        if d.name == 'placeholders':
            placeholders.update(parse_placeholders(d.arg))
    skips = [d for d in block.all('skip') if d.text]
    listed = commands(block.text)
    stale = [
        f'skip "{d.text}"'
        for d in skips if not any(d.text in c for _, c in listed)
    ] + [
        f'placeholder {name}' for d in block.all('placeholders')
        for name in parse_placeholders(d.arg)
        if substitute(block.text, {name: ''}) == block.text
    ]
    if stale:
        raise MarkerError(f'{block.where}: {", ".join(stale)} matches '
                          f'nothing in the block')
    todo, skipped = [], []
    first = block.line + (0 if block.indented else 1)
    for offset, command in listed:
        where = f'{block.page}:{first + offset}'
        skip = [d for d in skips if d.text in command]
        if skip:
            skipped.append(f'{where} skipped ({skip[0].reason})')
            continue
        written = substitute(strip_optional(command), placeholders)
        for each in expand_alternatives(written):
            left = leftover_placeholders(each)
            if left:
                raise MarkerError(
                    f'{where}: placeholder(s) {left} in `{each}`: mark the '
                    f'block `placeholders NAME=VALUE` or skip it')
            todo.append((where, each))
    return todo, skipped


class Walk:
    """Runs pages, README.md first, and keeps an Outcome per block."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        #: set by the caller: () -> tests/wheel_install.py's Installed
        self.installed: Callable = None
        self.bin = make_bin(tmp / 'bin')
        env = user_env(os.environ, self.bin)
        self.logs = tmp / 'logs'  # each command's output, for a failure
        self.logs.mkdir()
        self.zygote, path = start_zygote(env, self.logs / 'zygote.log')
        self.extra_env = {'MMPRELU_DOCS_TEST_ZYGOTE': path} if path else {}
        self.checkout = Context('checkout',
                                make_checkout(tmp / 'checkout', self.bin),
                                dict(env, **self.extra_env))
        self.outcomes: Dict[str, List[Outcome]] = {}
        self.seconds: Dict[str, float] = {}
        self.ran: Dict[tuple, tuple] = {}  # (context, command) -> where, out
        self.cpu: Dict[str, float] = {}

    def project(self, page: str) -> Context:
        folder = self.tmp / ('project_' + Path(page).stem)
        folder.mkdir()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        installed = self.installed()  # the wheel: built once a session
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu['(wheel)'] = self.cpu.get('(wheel)', 0) + (
            after.ru_utime - before.ru_utime + after.ru_stime -
            before.ru_stime)
        return Context(
            'project', folder,
            dict(user_env(installed.env(), self.bin), **self.extra_env))

    def zygote_ready(self, timeout: float = 180) -> bool:
        """Wait until the warm interpreter serves (False if it stopped)."""
        path = self.extra_env.get('MMPRELU_DOCS_TEST_ZYGOTE', '')
        end = time.time() + timeout
        while path and not os.path.exists(path) and time.time() < end:
            if self.zygote.poll() is not None:
                return False
            time.sleep(0.2)
        return bool(path) and os.path.exists(path)

    def zygote_cpu(self) -> float:
        """CPU seconds the warm interpreter took (its imports)."""
        if not self.zygote or self.zygote.poll() is not None:
            return 0.0
        fields = Path(f'/proc/{self.zygote.pid}/stat').read_text().rsplit(
            ')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def close(self) -> None:
        if self.zygote:
            try:
                os.killpg(self.zygote.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.zygote.wait()

    def run_page(self, page: str) -> List[Outcome]:
        if page != 'README.md' and 'README.md' not in self.outcomes:
            self.run_page('README.md')  # the quick start comes first
        if page in self.outcomes:
            return self.outcomes[page]
        start, parsed = time.time(), read_page(page)
        in_project = any(d.name == 'in-project' for d in parsed.directives)
        contexts = {}
        outcomes, last_output = [], None
        for block in parsed.blocks:
            project = in_project or block.get('in-project')
            if project and page not in contexts:
                contexts[page] = self.project(page)
            ctx = contexts[page] if project else self.checkout
            outcome, output = self.run_block(block, ctx, parsed.directives,
                                             last_output)
            outcomes.append(outcome)
            if output is not None:
                last_output = output
        self.outcomes[page] = outcomes
        self.seconds[page] = time.time() - start
        self.cpu[page] = sum(o.cpu for o in outcomes)
        return outcomes

    def run_block(self, block: Block, ctx: Context, page_directives,
                  last_output):
        """(Outcome, output or None)."""
        kind = block.kind
        outcome = Outcome(block.where, kind or '?', 'failed')
        missing = self.missing(page_directives + block.directives)
        try:
            if kind is None:
                raise MarkerError('an unclassified block: give it a '
                                  'docs-test marker or a language')
            if kind in ('skip', 'provided'):
                outcome.status, outcome.detail = ('skipped' if kind == 'skip'
                                                  else 'provided',
                                                  block.reason)
            elif kind == 'text':
                outcome.status, outcome.detail = 'shown', block.reason
            elif kind == 'output':
                outcome.status, outcome.detail = self.output(
                    block, last_output)
            elif missing:
                outcome.status, outcome.detail = 'skipped', missing
            elif kind == 'file':
                (ctx.folder / block.file).write_text(block.text)
                outcome.status, outcome.detail = 'written', block.file
            elif kind in ('config', 'excerpt'):
                excerpt = block.get('excerpt')
                outcome.detail = docs_checks.check_config(
                    block.text, ctx.folder, excerpt.arg if excerpt else '')
                outcome.status = 'checked'
            else:
                return self.execute(block, ctx, page_directives, outcome)
        except (AssertionError, MarkerError) as err:
            outcome.status, outcome.detail = 'failed', str(err)
        return outcome, None

    def missing(self, directives) -> str:
        import importlib.util
        names = [
            n for d in directives if d.name == 'needs' for n in d.arg.split()
        ]
        gone = []
        for name in names:
            if name == 'cuda':
                import torch
                found = torch.cuda.is_available()
            else:
                try:
                    found = importlib.util.find_spec(name) is not None
                except ImportError:
                    found = False
            gone += [] if found else [name]
        return f'needs {", ".join(gone)}, missing here' if gone else ''

    def output(self, block: Block, last_output):
        if block.reason:
            return 'shown', block.reason
        if last_output is None:
            raise MarkerError('an output block with no executed block above '
                              'it: mark it `output (REASON)`')
        pattern = docs_checks.output_pattern(block.text)
        assert pattern.search(last_output), (
            f'the output above does not show these lines (numbers and ... '
            f'are free):\n{block.text}\n--- the output (end):\n'
            f'{last_output[-3000:]}')
        return 'compared', 'matches the output of the block above'

    def execute(self, block: Block, ctx: Context, page_directives, outcome):
        for directive in block.all('data'):
            path, _, rest = directive.arg.partition('=')
            kind, *args = rest.split()
            docs_checks.provide(kind, args, ctx.folder / path)
        if block.kind == 'python':
            name = f'docs_{Path(block.page).stem}_{block.line}.py'
            (ctx.folder / name).write_text(block.text)
            todo = [(block.where, f'python {name}')]
        else:
            todo, skipped = planned_commands(block, page_directives)
            outcome.detail = '; '.join(skipped)
        extra = ' '.join(d.arg for d in block.all('run-with'))
        timeout = int(
            block.get('timeout').arg) if block.get('timeout') else TIMEOUT
        start, outputs, notes = time.time(), [], []
        for where, command in todo:
            key = (ctx.name, ctx.folder, command)
            if key in self.ran:
                outputs.append(self.ran[key][1])
                notes.append(f'{where} ran at {self.ran[key][0]}')
                continue
            name = assigned_name(command)
            final = command if name or not extra else f'{command} {extra}'
            code, out, cpu = self.shell(ctx, final, name, timeout)
            outcome.cpu += cpu
            log_name = where.replace('/', '_').replace(':', '_') + '.log'
            with open(self.logs / log_name, 'a') as log:
                log.write(f'$ {final}\n{out}\n[exit code {code}, CPU '
                          f'{cpu:.1f} s]\n')
            outputs.append(out)
            if code != 0:
                outcome.seconds = time.time() - start
                outcome.detail = (f'{where}: exit code {code}: $ {final}\n'
                                  f'{out[-6000:]}')
                return outcome, None
            self.ran[key] = (where, out)
        outcome.status, outcome.seconds = 'ran', time.time() - start
        outcome.detail = '; '.join([f'{len(todo)} command(s)'] + notes + (
            [outcome.detail] if outcome.detail else []))
        return outcome, '\n'.join(outputs)

    def shell(self, ctx: Context, command: str, name: str, timeout: int):
        """Run ``command`` with bash in the context; returns (exit code,
        stdout + stderr). A variable it assigns is kept for the page."""
        script = f'set -eo pipefail\n{command}\n'
        var_file = ctx.folder.parent / '.docs_test_var'
        if name:
            script += f'printf "%s" "${name}" > {var_file}\n'
        cpu_file = ctx.folder.parent / '.docs_test_cpu'
        cpu_file.write_text('')
        env = dict(
            ctx.env,
            **ctx.vars,
            PORT=str(free_port()),
            MMPRELU_DOCS_TEST_CPU=str(cpu_file))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.Popen(['bash', '-c', script],
                                cwd=ctx.folder,
                                env=env,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                text=True,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            code, out = 'timeout', f'{out}\n[killed after {timeout} s]'
        try:  # leftovers of the command (workers, a hung rank)
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if name and code == 0:
            ctx.vars[name] = var_file.read_text()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime + after.ru_stime -
               before.ru_stime) + sum(  # + the commands run by the zygote
                   float(x) for x in cpu_file.read_text().split())
        return code, out, cpu
