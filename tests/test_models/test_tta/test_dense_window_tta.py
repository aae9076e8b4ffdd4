"""DenseWindowTTA: the dense sliding-window test (§5.1) as mmpretrain's
AverageClsScoreTTA with the dense test scoring each view."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.models import AverageClsScoreTTA, ImageClassifier
from mmpretrain.structures import DataSample

from mmprelu.models import DenseWindowTTA, PReLUNetClassifier
from mmprelu.models.tta import dense_window_tta as module
from mmprelu.models.utils.dense import dense_logits_conv, dense_logits_windows
from mmprelu.registry import MODELS
from tiny_classifier import TINY, classifier_cfg, padded_batch


def make_tta(
        act_cfg=dict(type='PReLU'),
        levels=(7, 3, 2, 1),
        neck_mode='sppnet',
        cls='PReLUNetClassifier',
        **kwargs):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    tta = MODELS.build(
        dict(
            type='DenseWindowTTA',
            **kwargs,
            module=classifier_cfg(act_cfg, levels, neck_mode, cls)))
    tta.module.init_weights()
    return tta.eval()


def test_is_an_average_cls_score_tta():
    tta = make_tta(window=7)
    assert isinstance(tta, AverageClsScoreTTA)
    assert type(tta.module) is PReLUNetClassifier


@pytest.mark.parametrize('act_cfg', [dict(type='PReLU'), dict(type='ReLU')])
@pytest.mark.parametrize('size', [(56, 56), (64, 80), (100, 72)])
def test_one_window_equals_the_classifiers_whole_image(act_cfg, size):
    img = torch.randn(1, 3, *size)
    tta = make_tta(act_cfg, window=1000)
    whole = tta.module.predict(img)
    dense = tta.predict(img)
    assert torch.allclose(whole[0].pred_score, dense[0].pred_score, atol=1e-6)


def test_scores_are_mean_softmax_over_windows():
    tta = make_tta(window=7, stride=1)
    img = torch.randn(1, 3, 80, 96)  # last map 10 x 12: 4 x 6 windows
    model = tta.module
    fmap = model.backbone(img)[-1]
    logits = dense_logits_windows(fmap, model.neck, model.head, 7, 1)[0]
    assert logits.shape[0] == 24
    expected = logits.softmax(1).mean(0)
    score = tta.predict(img)[0].pred_score
    assert torch.allclose(score, expected, atol=1e-6)
    assert score.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_mixed_shape_batch_groups_by_shape(monkeypatch):
    """One trunk pass per distinct shape; every image scored as alone."""
    tta = make_tta(window=7)
    sizes = [(64, 90), (90, 64), (64, 90), (72, 72), (90, 64)]
    imgs, batch, samples = padded_batch(sizes)
    calls = []
    forward = tta.module.backbone.forward
    monkeypatch.setattr(tta.module.backbone, 'forward',
                        lambda x: calls.append(tuple(x.shape)) or forward(x))
    batched = tta.predict(batch, samples)
    assert sorted(calls) == sorted([(2, 3, 64, 90), (2, 3, 90, 64),
                                    (1, 3, 72, 72)])
    monkeypatch.setattr(tta.module.backbone, 'forward', forward)
    for img, out in zip(imgs, batched):
        alone = tta.predict(img[None])[0].pred_score
        assert torch.allclose(out.pred_score, alone, atol=1e-5)


@pytest.mark.parametrize('cls', ['PReLUNetClassifier', 'ImageClassifier'])
def test_test_step_averages_the_views(cls):
    """Two views (pseudo-collated TestTimeAug output) of two images of
    different shapes: the mean over views of the mean softmax over windows,
    with mmpretrain's ImageClassifier as well (the wrapper groups shapes
    itself)."""
    tta = make_tta(window=7, cls=cls)
    assert type(tta.module).__name__ == cls
    gen = torch.Generator().manual_seed(0)
    views = [[
        torch.randint(0, 256, s, generator=gen, dtype=torch.uint8)
        for s in ((3, 64, 80), (3, 80, 64))
    ],
             [
                 torch.randint(0, 256, s, generator=gen, dtype=torch.uint8)
                 for s in ((3, 72, 90), (3, 90, 72))
             ]]
    samples = [[
        DataSample(metainfo=dict(
            img_shape=tuple(img.shape[1:]))).set_gt_label(i)
        for i, img in enumerate(view)
    ] for view in views]
    with torch.no_grad():
        merged = tta.test_step(dict(inputs=views, data_samples=samples))
        for i, out in enumerate(merged):
            alone = [
                tta.predict(
                    tta.module.data_preprocessor(
                        dict(inputs=[view[i]]), False)['inputs'])[0].pred_score
                for view in views
            ]
            expected = (alone[0] + alone[1]) / 2
            assert torch.allclose(out.pred_score, expected, atol=1e-5)
            assert out.gt_label.item() == i


def test_adaptive_neck_uses_windows():
    tta = make_tta(window=7, levels=(3, 1), neck_mode='adaptive', chunk=1)
    assert tta.impl_for(torch.zeros(1, 16, 20, 20)) == 'windows'
    assert tta.predict(torch.randn(1, 3, 80, 80))[0].pred_score.shape == (10, )


@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (dict(window=0), ValueError, 'window'),
        (dict(chunk=1.5), ValueError, 'chunk'),
        (dict(dense_impl='fft'), ValueError, "dense_impl 'fft'.*'conv'"),
        (dict(window=5), ValueError, 'smaller than the finest SPP level'),
        (dict(mode='dense'), TypeError, 'mode'),  # the old test_cfg key
        (dict(neck_mode='adaptive',
              dense_impl='conv'), ValueError, "dense_impl='conv'.*adaptive"),
    ])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_tta(**kwargs)


@pytest.mark.parametrize('neck', [None, dict(type='GlobalAveragePooling')])
def test_needs_an_spp_neck(neck):
    init_default_scope('mmpretrain')
    with pytest.raises(
            ValueError,
            match=r"neck=dict\(type="
            r"'SpatialPyramidPooling'.*AverageClsScoreTTA"):
        DenseWindowTTA(
            ImageClassifier(
                backbone=dict(type='PReLUNet', arch=TINY),
                neck=neck,
                head=dict(type='ClsHead')))


@pytest.mark.parametrize('chunk,expected', [(64, 'windows'), (23, 'conv'),
                                            (24, 'windows')])
def test_auto_picks_windows_when_they_fit_one_chunk(monkeypatch, chunk,
                                                    expected):
    """80 x 96 input: a 10 x 12 map, 24 windows of 7."""
    used = []
    for name in ('conv', 'windows'):
        real = getattr(module, f'dense_logits_{name}')
        monkeypatch.setattr(
            module,
            f'dense_logits_{name}',
            lambda *a, _real=real, _name=name, **k: used.append(_name) or
            _real(*a, **k))
    tta = make_tta(window=7, chunk=chunk)
    score = tta.predict(torch.randn(1, 3, 80, 96))[0].pred_score
    assert used == [expected]
    assert score.sum().item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    'name',
    [
        'coffee_orig.JPEG',  # landscape 2:3
        'page_rot.png'
    ])  # portrait 1:2
def test_dense_on_non_square_photo_maps(photo_tensor, name):
    """A real photograph at shorter side 80: a non-square last map whose
    windows slide along both axes; the conv form equals the windows cut
    out, and the score is their mean softmax."""
    tta = make_tta(window=7, dense_impl='conv')
    model = tta.module
    img = photo_tensor(name, short=80) - 128.
    with torch.no_grad():
        fmap = model.backbone(img)[-1]
        height, width = fmap.shape[-2:]
        assert height != width and min(height, width) == 10
        fast = dense_logits_conv(fmap, model.neck, model.head, 7, 1)[0]
        ref = dense_logits_windows(fmap, model.neck, model.head, 7, 1)[0]
        score = tta.predict(img)[0].pred_score
    assert fast.shape[0] == (height - 6) * (width - 6)
    # float32 rounding, relative to the logits' size (up to ~20 here)
    torch.testing.assert_close(
        fast, ref, rtol=1e-5, atol=1e-5 * ref.abs().max().item())
    assert torch.allclose(score, ref.softmax(1).mean(0), atol=1e-5)


def test_trunk_through_extract_feat(monkeypatch):
    """Upstream's trunk step: extract_feat(stage='backbone'), once per
    shape group."""
    tta = make_tta(window=7)
    feats = []
    real = tta.module.extract_feat
    monkeypatch.setattr(tta.module, 'extract_feat',
                        lambda *a, **k: feats.append(k) or real(*a, **k))
    tta.predict(torch.randn(2, 3, 64, 64))
    assert feats == [dict(stage='backbone')]
