"""benchmarks/gpu_suite.sh and gpu_bench.py run on CPU at a tiny size (no
timing asserted), with the mixed-precision and dense conv paths; compile
cases come last, one model each, and a cut run keeps its rows."""
import json
import os
import subprocess
import sys

import pytest
import torch

from benchmarks import gpu_bench
from benchmarks._common import cpu_autocast_supports
from benchmarks.gpu_bench import main, parse_args, plan
from benchmarks.gpu_cases import forward_macs

ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ACTS = ('PReLU', 'ReLU')


def test_suite_runs_end_to_end_on_cpu(tmp_path):
    out = tmp_path / 'suite'
    proc = subprocess.run([
        'bash', 'benchmarks/gpu_suite.sh',
        str(out), '--device', 'cpu', '--tiny', '--archs', 'A', '--cases',
        'fp32', 'fp16', 'bf16', '--iters', '1', '--warmup', '0', '--repeats',
        '1', '--dense-batch', '1'
    ],
                          cwd=ROOT,
                          env=dict(os.environ, PYTHON=sys.executable),
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '== done' in proc.stdout
    result = json.loads((out / 'gpu_bench.json').read_text())
    assert 'running' not in result and result['skipped'] == []
    train = result['train']['A']
    if cpu_autocast_supports(torch.float16):
        assert set(train) == {'fp32', 'fp16', 'bf16'}
    else:  # torch 2.1: bf16 CPU autocast only; said, and left out
        assert set(train) == {'fp32', 'bf16'}
        assert "skipping ['fp16']" in proc.stdout
    for case, rows in train.items():
        for act in ACTS:
            assert rows[act]['batch'] == 2 and rows[act]['tflops'] > 0
        assert rows['relu_over_prelu_speed'] == pytest.approx(
            rows['ReLU']['img_per_s'] / rows['PReLU']['img_per_s'])
    # mixed precision on CPU: the autocast stand-in of AmpOptimWrapper
    assert train['bf16']['PReLU']['wrapper'] == 'CPUAmpOptimWrapper'
    assert train['fp32']['PReLU']['wrapper'] == 'OptimWrapper'
    # the dense test: explicit windows at the small size, the conv path
    # (more than one chunk of 64 windows) at the large one, fp32 and bf16
    dense = result['dense']['A']
    for size, windows, impl in (('128x160', 8, 'windows'), ('224x256', 80,
                                                            'conv')):
        assert set(dense[size]) == {'fp32', 'bf16'}
        for case in ('fp32', 'bf16'):
            row = dense[size][case]['PReLU']
            assert (row['windows'], row['impl']) == (windows, impl)
            assert row['image'] == [int(v) for v in size.split('x')]
    assert json.loads((out / 'pipeline.json').read_text())['ratio'] > 0


def test_plan_runs_compile_cases_last_one_model_each():
    args = parse_args(['--tiny', '--device', 'cpu', '--archs', 'A', 'C'])
    jobs = plan(args)
    kinds = ['compile' in case for _, _, case, _, _ in jobs]
    assert kinds == sorted(kinds) and any(kinds)  # all compile jobs last
    compiled = [(arch, acts) for arch, _, case, _, acts in jobs
                if 'compile' in case]
    assert compiled == [('A', ('PReLU', )), ('A', ('ReLU', )),
                        ('C', ('PReLU', )), ('C', ('ReLU', ))]
    dense = {(arch, case, size)
             for arch, kind, case, size, _ in jobs if kind == 'dense'}
    assert len(dense) == 2 * 2 * 2  # archs x fp32/bf16 x two sizes


def fake_rows(acts, fail_on=None):
    calls = []

    def train_case(arch, case, acts, args, macs):
        calls.append((case, acts))
        if (case, acts) == fail_on:
            raise KeyboardInterrupt  # what a timeout does mid-case
        return {
            act: dict(batch=2, ms_per_step=1., img_per_s=2., tflops=1.)
            for act in acts
        }

    return train_case, calls


def test_cut_run_keeps_measured_rows(monkeypatch, tmp_path):
    """Killed while compiling the ReLU model: the fp32 rows and the PReLU
    compile row are in the JSON, which names the case in flight."""
    train_case, calls = fake_rows(
        ACTS, fail_on=('bf16+cl+compile', ('ReLU', )))
    monkeypatch.setattr(gpu_bench, 'train_case', train_case)
    monkeypatch.setattr(gpu_bench, 'forward_macs', lambda *a: 1)
    out = tmp_path / 'gpu.json'
    with pytest.raises(KeyboardInterrupt):
        main([
            '--device', 'cpu', '--tiny', '--archs', 'A', '--no-dense',
            '--cases', 'bf16+cl+compile', 'fp32', '--out',
            str(out)
        ])
    assert [c for c, _ in calls
            ] == ['fp32', 'bf16+cl+compile', 'bf16+cl+compile']
    saved = json.loads(out.read_text())
    assert set(saved['train']['A']['fp32']) == {*ACTS, 'relu_over_prelu_speed'}
    assert set(saved['train']['A']['bf16+cl+compile']) == {'PReLU'}
    assert saved['running'] == dict(
        arch='A',
        kind='train',
        case='bf16+cl+compile',
        size=None,
        acts=['ReLU'])


def test_budgets_skip_later_cases(monkeypatch):
    """--budget 0 skips every non-compile case; compile cases have their
    own budget."""
    train_case, calls = fake_rows(ACTS)
    monkeypatch.setattr(gpu_bench, 'train_case', train_case)
    monkeypatch.setattr(gpu_bench, 'forward_macs', lambda *a: 1)
    result = main([
        '--device', 'cpu', '--tiny', '--archs', 'A', '--cases', 'fp32',
        'compile', '--budget', '0', '--compile-budget', '1000'
    ])
    assert set(result['train']['A']) == {'compile'}
    assert result['train']['A']['compile']['relu_over_prelu_speed'] == 1
    skipped = result['skipped']
    assert [(s['kind'], s['case']) for s in skipped] == [('train', 'fp32')] \
        + [('dense', c) for c in ('fp32', 'bf16')] * 2
    assert all(s['reason'].startswith('time budget') for s in skipped)


@pytest.mark.parametrize('arch,paper', [('A', 1.90e10), ('C', 5.30e10)])
def test_full_size_macs_match_table_3(arch, paper):
    # counted on the meta device: no memory, no time
    assert forward_macs(
        arch, 224, tiny=False) == pytest.approx(
            paper, rel=0.01)


@pytest.mark.parametrize(
    'argv', [['--batch', '1', '2', '--archs', 'A'], ['--iters', '0'],
             ['--dense-sizes', '384'], ['--device', 'cuda:7']])
def test_bad_arguments_exit(argv):
    import torch
    if argv[0] == '--device' and torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    with pytest.raises(SystemExit):
        main(['--tiny', *argv])
