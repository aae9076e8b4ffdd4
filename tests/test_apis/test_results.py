import numpy as np
import pytest
import torch
from mmengine.fileio import load

from mmprelu.apis.results import DumpPredictions, dump_results


@pytest.mark.parametrize('suffix', ['.json', '.JSON'])
def test_json_has_tensors_as_lists(tmp_path, suffix):
    data = dict(
        a=torch.tensor([1., 2.]),
        b=(np.int64(3), np.zeros(2)),
        c=[dict(d=torch.tensor(4))],
        e='text')
    dump_results(data, str(tmp_path / f'out{suffix}'))
    assert load(
        tmp_path / f'out{suffix}', file_format='json') == dict(
            a=[1., 2.], b=[3, [0., 0.]], c=[dict(d=4)], e='text')


@pytest.mark.parametrize('suffix', ['.pkl', '.json'])
def test_dump_predictions(tmp_path, suffix):
    path = str(tmp_path / f'preds{suffix}')
    metric = DumpPredictions(out_file_path=path)
    preds = [
        dict(
            pred_score=torch.tensor([0.25, 0.75]),
            pred_label=torch.tensor([1]),
            img_path='a.png')
    ]
    assert metric.compute_metrics(preds) == {}
    loaded = load(path)
    score = loaded[0]['pred_score']
    assert [float(s) for s in score] == [0.25, 0.75]
    assert loaded[0]['img_path'] == 'a.png'


def test_dump_predictions_bad_suffix():
    with pytest.raises(ValueError, match=r"'preds.csv'.*\.json"):
        DumpPredictions(out_file_path='preds.csv')
