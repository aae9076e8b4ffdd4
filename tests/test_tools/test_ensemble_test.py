"""tools/ensemble_test.py (Table 7): two small digits models trained with
different seeds; the ensemble's scores are the mean of the members' dumped
scores, its accuracy is not below the worse member's, and members with
different class lists are refused."""
import pickle

import pytest
import torch

from tool_runner import CONFIG, check
from tool_runner import python as _python

# one scale, both flips: the dense protocol at its cheapest
DENSE = ('--protocol', 'dense', '--scales', '64')


def python(*args):
    # one thread each: tools under a loaded CI machine stay fast
    return _python(*args, env=dict(OMP_NUM_THREADS='1'))


@pytest.fixture(scope='module')
def members(tmp_path_factory, options):
    """Two members (seeds 0 and 1, 2 epochs on 64 images) and the
    ``tools/test.py --out`` dump of each under the dense protocol."""
    root = tmp_path_factory.mktemp('ensemble')
    pairs, dumps = [], []
    for seed in (0, 1):
        work = root / f'seed{seed}'
        check(
            python('train.py', CONFIG, '--work-dir', work, *options,
                   'train_cfg.max_epochs=2', f'randomness.seed={seed}'))
        ckpt = work / 'epoch_2.pth'
        dump = root / f'seed{seed}.pkl'
        check(
            python('test.py', CONFIG, ckpt, '--work-dir', work, '--out', dump,
                   *DENSE, *options))
        pairs += [CONFIG, ckpt]
        dumps.append(dump)
    return root, pairs, dumps


def top1(results):
    hits = [
        int(torch.as_tensor(r['pred_score']).argmax()) == int(
            torch.as_tensor(r['gt_label']).flatten()[0]) for r in results
    ]
    return 100. * sum(hits) / len(hits)


def test_ensemble_is_the_mean_of_the_dumped_scores(members, options):
    root, pairs, dumps = members
    out_file = root / 'ensemble.pkl'
    out = check(
        python('ensemble_test.py', *pairs, *DENSE, '--out', out_file,
               '--work-dir', root / 'work', *options))
    with open(out_file, 'rb') as f:
        ensemble = pickle.load(f)
    loaded = []
    for path in dumps:
        with open(path, 'rb') as f:
            loaded.append(pickle.load(f))
    assert len(ensemble) == len(loaded[0]) == len(loaded[1]) == 32
    for i, result in enumerate(ensemble):
        by_hand = (loaded[0][i]['pred_score'] + loaded[1][i]['pred_score']) / 2
        assert torch.allclose(result['pred_score'], by_hand, atol=1e-6)
        assert int(result['pred_label']) == int(by_hand.argmax())
        assert result['img_path'] == loaded[0][i]['img_path']
        assert torch.equal(result['gt_label'], loaded[0][i]['gt_label'])
    accuracy = top1(ensemble)
    assert f'accuracy/top1: {accuracy:.4f}' in out
    assert 'accuracy/top5: ' in out
    assert accuracy >= min(top1(loaded[0]), top1(loaded[1]))
    for i, path in enumerate(pairs[1::2], 1):
        assert f'member {i} (' in out and str(path) in out


def test_members_with_different_classes_are_refused(members, tmp_path):
    _, pairs, _ = members
    ckpt = torch.load(pairs[3], map_location='cpu', weights_only=False)
    ckpt['meta']['dataset_meta']['classes'] = [str(i) for i in range(11)]
    other = tmp_path / 'eleven.pth'
    torch.save(ckpt, other)
    proc = python('ensemble_test.py', pairs[0], pairs[1], CONFIG, other)
    assert proc.returncode == 2
    assert 'different class lists' in proc.stderr
    assert str(pairs[1]) in proc.stderr and str(other) in proc.stderr
    assert '11 classes' in proc.stderr and '10 classes' in proc.stderr


@pytest.mark.parametrize('args, message', [
    (['a.py'], 'expected CONFIG CHECKPOINT pairs'),
    ([str(CONFIG), 'missing.pth'], "checkpoint file 'missing.pth' does not"),
    ([str(CONFIG), str(CONFIG), '--window', '3'
      ], '--window only apply with --protocol'),
])
def test_usage_errors(args, message):
    proc = python('ensemble_test.py', *args)
    assert proc.returncode == 2 and message in proc.stderr


def test_misspelt_option_is_named(members):
    _, pairs, _ = members
    proc = python('ensemble_test.py', *pairs, '--cfg-options',
                  'test_dataloder.batch_size=2')
    assert proc.returncode == 2
    assert ("unknown top-level key 'test_dataloder' (did you mean "
            "'test_dataloader'?)") in proc.stderr
