"""benchmarks/gpu_bench.py runs on CPU at a tiny size (no timing asserted)
and counts the paper's multiply-adds at full size."""
import json

import pytest

from benchmarks.gpu_bench import forward_macs, main


def test_tiny_cpu_run_reports_every_case(tmp_path):
    out = tmp_path / 'gpu.json'
    result = main(['--device', 'cpu', '--tiny', '--no-compile', '--archs',
                   'A', '--iters', '1', '--warmup', '1', '--repeats', '1',
                   '--out', str(out)])
    assert result['device'] == 'cpu' and result['macs']['A'] > 0
    # fp32 and channels-last train steps run on CPU, PReLU and ReLU each
    assert set(result['train']['A']) == {'fp32', 'cl'}
    for case in ('fp32', 'cl'):
        rows = result['train']['A'][case]
        for act in ('PReLU', 'ReLU'):
            assert rows[act]['batch'] == 2
            assert rows[act]['img_per_s'] > 0 and rows[act]['tflops'] > 0
        assert rows['relu_over_prelu_speed'] == pytest.approx(
            rows['ReLU']['img_per_s'] / rows['PReLU']['img_per_s'])
    dense = result['dense']['A']['fp32']['PReLU']
    assert dense['image'] == [128, 160] and dense['tflops'] > 0
    # bf16 needs CUDA: reported as skipped with the reason, not dropped
    skipped = {(s['kind'], s['case']) for s in result['skipped']}
    assert skipped == {('train', 'bf16'), ('train', 'bf16+cl'),
                       ('dense', 'bf16')}
    assert all('CUDA' in s['reason'] for s in result['skipped'])
    assert json.loads(out.read_text())['train']['A']['cl']['PReLU'][
        'batch'] == 2


def test_budget_skips_later_cases():
    result = main(['--device', 'cpu', '--tiny', '--archs', 'A', '--cases',
                   'fp32', '--no-dense', '--budget', '0', '--iters', '1'])
    assert result['train'] == {}
    assert result['skipped'][0]['reason'].startswith('time budget')


@pytest.mark.parametrize('arch,paper', [('A', 1.90e10), ('C', 5.30e10)])
def test_full_size_macs_match_table_3(arch, paper):
    # counted on the meta device: no memory, no time
    assert forward_macs(arch, 224, tiny=False) == pytest.approx(paper,
                                                               rel=0.01)


@pytest.mark.parametrize('argv', [['--batch', '1', '2', '--archs', 'A'],
                                  ['--iters', '0'],
                                  ['--device', 'cuda:7']])
def test_bad_arguments_exit(argv):
    import torch
    if argv[0] == '--device' and torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    with pytest.raises(SystemExit):
        main(['--tiny', *argv])
