import pytest
import torch
from mmpretrain.models import ImageClassifier
from mmpretrain.structures import DataSample

from mmprelu.models import PReLUNetClassifier
from tiny_classifier import TINY, classifier_cfg, padded_batch


def make_classifier(act_cfg=dict(type='PReLU'), levels=(7, 3, 2, 1)):
    torch.manual_seed(0)
    cfg = classifier_cfg(act_cfg, levels)
    del cfg['type']
    model = PReLUNetClassifier(**cfg)
    model.init_weights()
    return model.eval()


def test_takes_exactly_image_classifiers_arguments():
    """A derived config may switch type to ImageClassifier and back."""
    assert PReLUNetClassifier.__init__ is ImageClassifier.__init__
    with pytest.raises(TypeError, match='test_cfg'):
        PReLUNetClassifier(
            backbone=dict(type='PReLUNet', arch=TINY),
            head=dict(type='ClsHead'),
            test_cfg=dict())


@pytest.mark.parametrize('act_cfg', [dict(type='PReLU'), dict(type='ReLU')])
def test_mixed_size_batch_has_no_padding_leak(act_cfg):
    model = make_classifier(act_cfg)
    imgs, batch, samples = padded_batch([(56, 56), (64, 90), (72, 60)])
    batched = model.predict(batch, samples)
    for img, out in zip(imgs, batched):
        alone = model.predict(img[None])[0]
        assert torch.allclose(out.pred_score, alone.pred_score, atol=1e-6)
    # the padded batch without the shapes differs: the grouping matters
    padded = model.predict(batch)
    assert not torch.allclose(
        padded[0].pred_score, batched[0].pred_score, atol=1e-4)


def test_training_path_unchanged():
    model = make_classifier().train()
    samples = [DataSample().set_gt_label(i) for i in range(2)]
    losses = model(torch.randn(2, 3, 56, 56), samples, mode='loss')
    assert losses['loss'].requires_grad


def test_equal_shapes_of_a_mixed_batch_run_together(monkeypatch):
    """One trunk pass per distinct shape (landscape and portrait twice, one
    square), each image cropped to its own size; scores as alone."""
    model = make_classifier()
    sizes = [(64, 90), (90, 64), (64, 90), (72, 72), (90, 64)]
    imgs, batch, samples = padded_batch(sizes)
    calls = []
    forward = model.backbone.forward
    monkeypatch.setattr(model.backbone, 'forward',
                        lambda x: calls.append(tuple(x.shape)) or forward(x))
    batched = model.predict(batch, samples)
    assert sorted(calls) == sorted([(2, 3, 64, 90), (2, 3, 90, 64),
                                    (1, 3, 72, 72)])
    monkeypatch.setattr(model.backbone, 'forward', forward)
    for img, out in zip(imgs, batched):
        alone = model.predict(img[None])[0].pred_score
        assert torch.allclose(out.pred_score, alone, atol=1e-5)


def test_batch_of_one_shape_is_passed_through(monkeypatch):
    """Centre crops (validation): the batch itself, no copy, one pass."""
    model = make_classifier()
    _, batch, samples = padded_batch([(56, 56)] * 3)
    seen = []
    forward = model.backbone.forward
    monkeypatch.setattr(model.backbone, 'forward',
                        lambda x: seen.append(x) or forward(x))
    model.predict(batch, samples)
    assert len(seen) == 1 and seen[0] is batch


def test_img_shape_larger_than_the_batch_is_an_error():
    model = make_classifier()
    samples = [DataSample(metainfo=dict(img_shape=(60, 56)))]
    with pytest.raises(ValueError, match=r'img_shape \(60, 56\).*56x56'):
        model.predict(torch.randn(1, 3, 56, 56), samples)


def record(monkeypatch, obj, name, log):
    """Wrap ``obj.name`` so that each call appends its keyword args."""
    real = getattr(obj, name)
    monkeypatch.setattr(obj, name,
                        lambda *a, **k: log.append(k) or real(*a, **k))


def test_predict_is_upstreams_per_shape_group(monkeypatch):
    """ImageClassifier.predict's steps per shape group: extract_feat, then
    head.predict with the caller's kwargs; the samples come back in
    order, filled in place."""
    model = make_classifier()
    feats, heads, seen = [], [], []
    record(monkeypatch, model, 'extract_feat', feats)
    real = model.head.predict
    monkeypatch.setattr(
        model.head, 'predict',
        lambda f, s, **k: seen.append(k) or heads.append(len(s)) or real(f, s))
    _, batch, samples = padded_batch([(56, 56), (64, 72), (56, 56)])
    out = model.predict(batch, samples, temperature=2.0)
    assert feats == [{}, {}]  # stage='neck', upstream's default
    assert seen == [dict(temperature=2.0)] * 2 and heads == [2, 1]
    assert all(a is b for a, b in zip(out, samples))
    assert all(s.pred_score.shape == (10, ) for s in out)


def test_without_neck():
    """neck=None as upstream allows it: LeNet5 gives logits, ClsHead
    turns them into scores."""
    model = PReLUNetClassifier(
        backbone=dict(type='LeNet5', num_classes=10),
        head=dict(type='ClsHead')).eval()
    imgs = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        out = model.predict(imgs)
        expected = model.backbone(imgs)[0].softmax(1)
    for sample, score in zip(out, expected):
        torch.testing.assert_close(sample.pred_score, score)
