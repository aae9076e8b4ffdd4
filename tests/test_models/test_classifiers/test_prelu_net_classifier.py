import pytest
import torch
from mmpretrain.structures import DataSample

from mmprelu.models import PReLUNetClassifier
from mmprelu.models.utils.dense import dense_logits_conv, dense_logits_windows

TINY = dict(channels=(8, 16, 16), depths=(1, 1, 1), kernel_sizes=(7, 3, 3),
            strides=(2, 1, 1), pools=(None, (2, 2), (2, 2)))
ACTS = [dict(type='PReLU'), dict(type='ReLU')]


def make_classifier(test_cfg, act_cfg=dict(type='PReLU'), levels=(7, 3, 2,
                                                                   1)):
    torch.manual_seed(0)
    model = PReLUNetClassifier(
        backbone=dict(type='PReLUNet', arch=TINY, act_cfg=act_cfg),
        neck=dict(type='SpatialPyramidPooling', levels=levels),
        head=dict(type='PReLUNetHead', num_classes=10,
                  in_channels=16 * sum(n * n for n in levels),
                  mid_channels=(24, 24), act_cfg=act_cfg),
        test_cfg=test_cfg)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('act_cfg', ACTS)
@pytest.mark.parametrize('size', [(56, 56), (64, 80), (100, 72)])
def test_whole_equals_dense_with_one_window(act_cfg, size):
    img = torch.randn(1, 3, *size)
    whole = make_classifier(dict(mode='whole'), act_cfg).predict(img)
    dense = make_classifier(dict(mode='dense', window=1000),
                            act_cfg).predict(img)
    assert torch.allclose(whole[0].pred_score, dense[0].pred_score,
                          atol=1e-6)


def test_dense_scores_are_mean_softmax_over_windows():
    model = make_classifier(dict(mode='dense', window=7, stride=1))
    img = torch.randn(1, 3, 80, 96)  # last map 10 x 12: 4 x 6 windows
    fmap = model.backbone(img)[-1]
    logits = dense_logits_windows(fmap, model.neck, model.head, 7, 1)[0]
    assert logits.shape[0] == 24
    expected = logits.softmax(1).mean(0)
    score = model.predict(img)[0].pred_score
    assert torch.allclose(score, expected, atol=1e-6)
    assert score.sum().item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize('mode', ['whole', 'dense'])
def test_mixed_size_batch_has_no_padding_leak(mode):
    model = make_classifier(dict(mode=mode, window=7))
    sizes = [(56, 56), (64, 90), (72, 60)]
    imgs = [torch.randn(3, *s) for s in sizes]
    batch = torch.zeros(3, 3, 72, 90)  # padded like the data preprocessor
    samples = []
    for i, img in enumerate(imgs):
        batch[i, :, :img.shape[1], :img.shape[2]] = img
        samples.append(DataSample(metainfo=dict(img_shape=sizes[i])))
    batched = model.predict(batch, samples)
    for img, out in zip(imgs, batched):
        alone = model.predict(img[None])[0]
        assert torch.allclose(out.pred_score, alone.pred_score, atol=1e-6)


def test_adaptive_neck_uses_windows_and_conv_refuses():
    model = make_classifier(dict(mode='dense', window=7), levels=(3, 1))
    model.neck.mode = 'adaptive'
    assert model.predict(torch.randn(1, 3, 80, 80))[0].pred_score.shape == (
        10, )
    model.test_cfg['dense_impl'] = 'conv'
    with pytest.raises(ValueError, match="mode='sppnet'"):
        model.predict(torch.randn(1, 3, 80, 80))


@pytest.mark.parametrize('test_cfg,match', [
    (dict(mode='multi'), 'unknown mode'),
    (dict(window=0), 'window'),
    (dict(dense_impl='fft'), 'dense_impl'),
    (dict(scales=(1, 2)), 'unknown keys'),
    (dict(window=5), 'smaller than the finest SPP level'),
])
def test_bad_test_cfg(test_cfg, match):
    with pytest.raises(ValueError, match=match):
        make_classifier(test_cfg)


def test_training_path_unchanged():
    model = make_classifier(dict(mode='dense')).train()
    samples = [DataSample().set_gt_label(i) for i in range(2)]
    losses = model(torch.randn(2, 3, 56, 56), samples, mode='loss')
    assert losses['loss'].requires_grad


@pytest.mark.parametrize('chunk,expected', [(64, 'windows'), (23, 'conv'),
                                            (24, 'windows')])
def test_auto_picks_windows_when_they_fit_one_chunk(monkeypatch, chunk,
                                                    expected):
    """80 x 96 input: a 10 x 12 map, 24 windows of 7."""
    from mmprelu.models.classifiers import prelu_net_classifier as module
    used = []
    for name in ('conv', 'windows'):
        real = getattr(module, f'dense_logits_{name}')
        monkeypatch.setattr(
            module, f'dense_logits_{name}',
            lambda *a, _real=real, _name=name, **k: used.append(_name)
            or _real(*a, **k))
    model = make_classifier(dict(mode='dense', window=7, chunk=chunk))
    score = model.predict(torch.randn(1, 3, 80, 96))[0].pred_score
    assert used == [expected]
    assert score.sum().item() == pytest.approx(1.0, abs=1e-5)


def padded_batch(sizes, seed=0):
    """Images of ``sizes`` padded into one batch as the data preprocessor
    does (zeros bottom/right), with their samples' img_shape."""
    gen = torch.Generator().manual_seed(seed)
    imgs = [torch.randn(3, *s, generator=gen) for s in sizes]
    height, width = max(s[0] for s in sizes), max(s[1] for s in sizes)
    batch = torch.zeros(len(sizes), 3, height, width)
    for i, img in enumerate(imgs):
        batch[i, :, :img.shape[1], :img.shape[2]] = img
    samples = [DataSample(metainfo=dict(img_shape=s)) for s in sizes]
    return imgs, batch, samples


@pytest.mark.parametrize('mode', ['whole', 'dense'])
def test_equal_shapes_of_a_mixed_batch_run_together(monkeypatch, mode):
    """One trunk pass per distinct shape (landscape and portrait twice, one
    square), each image cropped to its own size; scores as alone."""
    model = make_classifier(dict(mode=mode, window=7))
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
    model = make_classifier(dict(mode='whole'))
    _, batch, samples = padded_batch([(56, 56)] * 3)
    seen = []
    forward = model.backbone.forward
    monkeypatch.setattr(model.backbone, 'forward',
                        lambda x: seen.append(x) or forward(x))
    model.predict(batch, samples)
    assert len(seen) == 1 and seen[0] is batch


def test_img_shape_larger_than_the_batch_is_an_error():
    model = make_classifier(dict(mode='whole'))
    samples = [DataSample(metainfo=dict(img_shape=(60, 56)))]
    with pytest.raises(ValueError, match=r'img_shape \(60, 56\).*56x56'):
        model.predict(torch.randn(1, 3, 56, 56), samples)


@pytest.mark.parametrize('name', ['coffee_orig.JPEG',  # landscape 2:3
                                  'page_rot.png'])  # portrait 1:2
def test_dense_on_non_square_photo_maps(photo_tensor, name):
    """A real photograph at shorter side 80: a non-square last map whose
    windows slide along both axes; the conv form equals the windows cut
    out, and the score is their mean softmax."""
    model = make_classifier(dict(mode='dense', window=7, dense_impl='conv'))
    img = photo_tensor(name, short=80) - 128.
    with torch.no_grad():
        fmap = model.backbone(img)[-1]
        height, width = fmap.shape[-2:]
        assert height != width and min(height, width) == 10
        fast = dense_logits_conv(fmap, model.neck, model.head, 7, 1)[0]
        ref = dense_logits_windows(fmap, model.neck, model.head, 7, 1)[0]
        score = model.predict(img)[0].pred_score
    assert fast.shape[0] == (height - 6) * (width - 6)
    assert torch.allclose(fast, ref, atol=1e-5, rtol=1e-5)
    assert torch.allclose(score, ref.softmax(1).mean(0), atol=1e-6)


def record(monkeypatch, obj, name, log):
    """Wrap ``obj.name`` so that each call appends its keyword args."""
    real = getattr(obj, name)
    monkeypatch.setattr(obj, name,
                        lambda *a, **k: log.append(k) or real(*a, **k))


def test_whole_mode_is_upstreams_predict(monkeypatch):
    """ImageClassifier.predict's steps per shape group: extract_feat, then
    head.predict with the caller's kwargs; the samples come back in
    order, filled in place."""
    model = make_classifier(dict(mode='whole'))
    feats, heads, seen = [], [], []
    record(monkeypatch, model, 'extract_feat', feats)
    real = model.head.predict
    monkeypatch.setattr(
        model.head, 'predict', lambda f, s, **k: seen.append(k) or
        heads.append(len(s)) or real(f, s))
    _, batch, samples = padded_batch([(56, 56), (64, 72), (56, 56)])
    out = model.predict(batch, samples, temperature=2.0)
    assert feats == [{}, {}]  # stage='neck', upstream's default
    assert seen == [dict(temperature=2.0)] * 2 and heads == [2, 1]
    assert all(a is b for a, b in zip(out, samples))
    assert all(s.pred_score.shape == (10, ) for s in out)


def test_dense_mode_extracts_backbone_features(monkeypatch):
    model = make_classifier(dict(mode='dense', window=7))
    feats = []
    record(monkeypatch, model, 'extract_feat', feats)
    model.predict(torch.randn(2, 3, 64, 64))
    assert feats == [dict(stage='backbone')]
    with pytest.raises(TypeError, match='temperature'):
        model.predict(torch.randn(1, 3, 64, 64), temperature=2.0)


def test_whole_mode_without_neck():
    """neck=None as upstream allows it: LeNet5 gives logits, ClsHead
    turns them into scores."""
    model = PReLUNetClassifier(backbone=dict(type='LeNet5', num_classes=10),
                               head=dict(type='ClsHead')).eval()
    imgs = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        out = model.predict(imgs)
        expected = model.backbone(imgs)[0].softmax(1)
    for sample, score in zip(out, expected):
        torch.testing.assert_close(sample.pred_score, score)


@pytest.mark.parametrize('neck', [None, dict(type='GlobalAveragePooling')])
def test_dense_mode_needs_an_spp_neck(neck):
    with pytest.raises(ValueError, match=r"mode='dense'.*neck=dict\(type="
                       r"'SpatialPyramidPooling'"):
        PReLUNetClassifier(backbone=dict(type='PReLUNet', arch=TINY),
                           neck=neck, head=dict(type='ClsHead'),
                           test_cfg=dict(mode='dense'))


def test_conv_form_with_adaptive_bins_fails_at_build():
    with pytest.raises(ValueError, match="dense_impl='conv'.*adaptive"):
        PReLUNetClassifier(
            backbone=dict(type='PReLUNet', arch=TINY),
            neck=dict(type='SpatialPyramidPooling', mode='adaptive'),
            head=dict(type='ClsHead'),
            test_cfg=dict(mode='dense', dense_impl='conv'))
