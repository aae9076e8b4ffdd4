"""tools/train.py, tools/test.py and tools/dist_train.sh as subprocesses on
CPU: the tiny digits config, 64 training / 32 validation images, one or two
epochs of two iterations (fixtures in conftest.py)."""
import importlib.util
import re
import shutil
from pathlib import Path

import mmengine
import pytest
import torch

from tool_runner import CONFIG, ROOT, check, free_port, load_meta, python, run


def test_train_writes_checkpoint(trained):
    work_dir, out = trained
    assert 'Epoch(train) [1][2/2]' in out
    assert (work_dir / 'epoch_1.pth').is_file()
    last = (work_dir / 'last_checkpoint').read_text().strip()
    assert Path(last) == work_dir / 'epoch_1.pth'
    meta = load_meta(work_dir / 'epoch_1.pth')
    assert (meta['epoch'], meta['iter']) == (1, 2)
    assert (work_dir / CONFIG.name).is_file()  # the config dump


@pytest.mark.parametrize('mode', ['auto', 'path'])
def test_resume_continues(trained, options, tmp_path, mode):
    src, _ = trained
    if mode == 'auto':
        work_dir = tmp_path / 'work'
        shutil.copytree(src, work_dir)
        resume = ['--resume']
    else:
        work_dir = tmp_path
        resume = ['--resume', src / 'epoch_1.pth']
    # --resume last: a bare --resume must not eat the config path
    out = check(
        python('train.py', CONFIG, '--work-dir', work_dir, *options,
               'train_cfg.max_epochs=2', *resume))
    assert 'resumed epoch: 1, iter: 2' in out
    assert 'Epoch(train) [1]' not in out  # not restarted from scratch
    assert 'Epoch(train) [2][2/2]' in out
    meta = load_meta(work_dir / 'epoch_2.pth')
    assert (meta['epoch'], meta['iter']) == (2, 4)


def test_dist_train_two_cpu_processes(options, tmp_path):
    work_dir = tmp_path / 'work'
    out = check(
        run([
            'bash', 'tools/dist_train.sh',
            str(CONFIG), '2', '--work-dir',
            str(work_dir), '--auto-scale-lr', *options,
            'train_cfg.max_epochs=1'
        ],
            env=dict(PORT=str(free_port()))))
    assert re.search(r'GPU number: 2\b', out)  # mmengine's world size
    assert 'Distributed launcher: pytorch' in out
    assert "'backend': 'gloo'" in out
    # 64 images, 2 processes of batch 32: one iteration per epoch
    assert 'Epoch(train) [1][1/1]' in out
    # --auto-scale-lr: total batch 64 against base_batch_size 32
    assert 'Scaling the original LR by 2.0' in out
    assert load_meta(work_dir / 'epoch_1.pth')['iter'] == 1
    # the same checkpoint tested by two processes: every val image counted
    # once, metrics printed once (rank 0), both processes exit 0
    proc = check(
        run([
            'bash', 'tools/dist_test.sh',
            str(CONFIG),
            str(work_dir / 'epoch_1.pth'), '2', '--work-dir',
            str(tmp_path / 'test'), *options
        ],
            env=dict(PORT=str(free_port()))))
    assert len(re.findall(r'^accuracy/top1: ', proc, re.M)) == 1


def dynamo_traces_sgd_momentum():
    """Whether this torch compiles a step of SGD with momentum (torch 2.1's
    dynamo fails inside torch/optim/sgd.py: 'list index out of range')."""
    layer = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)

    def step(x):
        layer(x).sum().backward()
        optimizer.step()
        optimizer.zero_grad()

    compiled = torch.compile(step, backend='eager')
    try:
        for _ in range(2):
            compiled(torch.ones(1, 2))
    except Exception:  # noqa: BLE001 - any dynamo failure
        return False
    return True


def test_train_with_compile(options, tmp_path):
    """``compile`` (mmengine's torch.compile switch) traces our model and
    optimizer step; the eager backend checks tracing without the minutes a
    CPU inductor build takes."""
    proc = python('train.py', CONFIG, '--work-dir', tmp_path / 'work',
                  *options, 'train_cfg.max_epochs=1', 'compile.backend=eager',
                  'default_hooks.channels_last.type=ChannelsLastHook')
    if proc.returncode != 0 and not dynamo_traces_sgd_momentum():
        pytest.skip(f'torch {torch.__version__}: dynamo cannot trace an SGD '
                    f'step with momentum (a torch bug: a plain nn.Linear + '
                    f'SGD step fails the same way), so compile=True, which '
                    f'compiles the whole train_step, fails with it')
    out = check(proc)
    assert re.search(r'Epoch\(train\) \[1\]\[2/2\].*loss: [0-9.]+', out)
    assert "compile = dict(backend='eager')" in out


def config_block(out, name):
    """The text of ``name = ...`` in the config mmengine logs."""
    match = re.search(rf'^{name} = (.*?)^\w', out, re.M | re.S)
    assert match, f'no {name} in the logged config'
    return match.group(1)


def top1(stdout):
    match = re.search(r'^accuracy/top1: ([0-9.]+)$', stdout, re.M)
    assert match, f'no accuracy/top1 line in:\n{stdout[-2000:]}'
    value = float(match.group(1))
    assert 0 <= value <= 100
    return value


@pytest.mark.parametrize('out_file', ['preds.pkl', 'preds.json'])
def test_test_prints_accuracy_and_dumps(trained, options, tmp_path, out_file):
    work_dir, _ = trained
    proc = python('test.py', CONFIG, work_dir / 'epoch_1.pth', '--work-dir',
                  tmp_path, '--out', tmp_path / out_file, *options)
    out = check(proc)
    top1(proc.stdout)
    assert 'TestTimeAug' not in config_block(out, 'test_dataloader')
    preds = mmengine.load(tmp_path / out_file)
    assert len(preds) == 32
    assert all(len(p['pred_score']) == 10 for p in preds)
    assert {'gt_label', 'pred_label', 'img_path'} <= set(preds[0])


@pytest.mark.parametrize('tta', ['config', 'default'])
def test_test_tta(trained, options, tmp_path, tta):
    work_dir, _ = trained
    config = CONFIG
    if tta == 'default':  # --cfg-options come after --tta: a config
        config = tmp_path / 'no_tta.py'
        config.write_text(f'_base_ = [{str(CONFIG)!r}]\n'
                          f'tta_model = None\ntta_pipeline = None\n')
    # 8 images: the config's TTA has 3 views, up to 80x80
    proc = python('test.py', config, work_dir / 'epoch_1.pth', '--tta',
                  '--work-dir', tmp_path, *options,
                  'test_dataloader.dataset.indices=8')
    out = check(proc)
    top1(proc.stdout)
    pipeline = config_block(out, 'test_dataloader')
    assert 'TestTimeAug' in pipeline
    # the config's views rescale to 72 and 80; the default only flips
    assert ('scale=72' in pipeline) == (tta == 'config')
    assert re.search(r"^model = dict\(\s+module=dict\(", out, re.M)
    # the config's: the dense test; the default: mmpretrain's average
    tta_model = 'DenseWindowTTA' if tta == 'config' else 'AverageClsScoreTTA'
    assert re.search(rf"type='(mmpretrain\.)?{tta_model}'",
                     config_block(out, 'model'))


@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU error')
def test_amp_without_cuda_is_a_clear_error():
    proc = python('train.py', CONFIG, '--amp')
    assert proc.returncode == 2
    assert 'Traceback' not in proc.stderr
    assert 'error: --amp' in proc.stderr
    assert 'CUDA' in proc.stderr and 'drop --amp' in proc.stderr


def load_tool(name):
    """A tool's module, imported in-process (argument checks run in
    milliseconds instead of a subprocess start)."""
    spec = importlib.util.spec_from_file_location(
        f'mmprelu_tool_{name}', ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def exit_message(capsys, monkeypatch):
    """Run a tool's main() in-process; return its argparse error text."""
    # the tools set LOCAL_RANK when absent: restore this process's env
    monkeypatch.setenv('LOCAL_RANK', '0')

    def main(tool, argv):
        with pytest.raises(SystemExit) as info:
            load_tool(tool).main([str(a) for a in argv])
        assert info.value.code == 2
        return capsys.readouterr().err

    return main


@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU error')
def test_test_amp_without_cuda(trained, exit_message):
    err = exit_message('test', [CONFIG, trained[0] / 'epoch_1.pth', '--amp'])
    assert 'error: --amp' in err and 'CUDA' in err


@pytest.mark.parametrize(
    'args,message',
    [
        (['--auto-scale-lr', '--cfg-options', 'auto_scale_lr=None'
          ], 'auto_scale_lr.base_batch_size'),
        (['--resume', 'missing.pth'
          ], "checkpoint 'missing.pth' does not exist"),
        (['--launcher', 'ssh'], "invalid choice: 'ssh'"),
        # a misspelt key is named with the nearest valid one, before anything
        # is built (it used to train the full schedule, or end in a traceback)
        (['--cfg-options', 'trian_cfg.max_epochs=1'
          ], "unknown top-level key 'trian_cfg' (did you mean 'train_cfg'?)"),
        (['--cfg-options', 'train_cfg.max_epoch=1'],
         "train_cfg.max_epoch: EpochBasedTrainLoop takes no key 'max_epoch' "
         "(did you mean 'max_epochs'?)"),
    ])
def test_train_argument_errors(args, message, exit_message):
    assert message in exit_message('train', [CONFIG, *args])


@pytest.mark.parametrize('args,message', [
    (['--out', 'preds.csv'], "'.json'"),
    (['--out-item', 'metrics'], '--out-item needs --out'),
    (['--scales', '64'], '--scales only apply with --protocol'),
    (['--protocol', 'multi-crop'], "invalid choice: 'multi-crop'"),
    (['--cfg-options', 'test_cgf.fp16=True'
      ], "'test_cgf' (did you mean 'test_cfg'?)"),
])
def test_test_argument_errors(trained, args, message, exit_message):
    ckpt = trained[0] / 'epoch_1.pth'
    assert message in exit_message('test', [CONFIG, ckpt, *args])


def test_test_missing_checkpoint(tmp_path, exit_message):
    err = exit_message('test', [CONFIG, tmp_path / 'missing.pth'])
    assert 'missing.pth' in err and 'does not exist' in err
