"""The paper's test protocols (§5.1) as config rewrites, so that any
checkpoint can be evaluated with any protocol from the command line
(``tools/test.py CFG CKPT --protocol dense``) without editing files.

Every protocol is an mmengine test-time augmentation: a ``tta_pipeline``
whose ``TestTimeAug`` lists the views, and a ``tta_model`` that averages
the views' softmax scores:

* ``center``: shorter side ``view_scale``, centre ``crop_size`` crop;
* ``whole``: the full image at shorter side ``s`` for each scale (x2 with
  flips);
* ``ten-view``: shorter side ``view_scale``; the central ``view_scale``
  square; its 4 corners + centre at ``crop_size``, each flipped: 10 views
  (Tables 2, 5);

  all three with ``AverageClsScoreTTA`` (the classifier's own ``predict``
  on each view);
* ``dense``: the full image at each scale (x2 with flips), each view scored
  by ``DenseWindowTTA`` (every ``window`` sub-map of the last feature map;
  Tables 4, 6).

Ten-view is AlexNet's [16], which the paper cites without redefining it:
the corners are those of the central ``view_scale x view_scale`` square
(256 x 256 for ImageNet), not of the whole resized image.
``ten_view_corners='full'`` (config key or ``--ten-view-corners full``)
takes the corners of the whole resized image instead (wider apart on the
long axis; what mmprelu did before).

Defaults come from the config's ``test_protocol`` dict (ImageNet:
``scales=(256, 384, 480)`` as in Table 4, ``view_scale=256``,
``crop_size=224``, ``flip=True``, ``ten_view_corners='square'``), then from
keyword overrides; ``dense`` keeps the config's ``tta_model`` when it is a
``DenseWindowTTA`` (its ``window``, ``stride``, ...), with ``window`` and
``stride`` overrides.

The views of ``whole`` and ``dense`` (and of images smaller than a crop)
have each image's own shape, so the test loader collates with
``pseudo_collate`` (no stacking; ``PReLUNetClassifier`` and
``DenseWindowTTA`` run each group of equal shape without the batch
padding). A ``collate_fn`` other than ``default_collate`` in the config is
kept.
"""
import copy
from typing import Optional, Sequence

PROTOCOLS = ('center', 'whole', 'ten-view', 'dense')
CORNERS = ('top_left', 'top_right', 'bottom_left', 'bottom_right', 'center')
#: Resizes by one edge (mmpretrain's ``ResizeEdge``, and mmcv's
#: ``RandomChoiceResize`` over it: the scale jitter): what they make of the
#: shorter side is known from the step alone (:mod:`.validate` follows them).
EDGE_RESIZES = ('ResizeEdge', 'RandomChoiceResize')
#: Every resize that may start the views of a test pipeline.
RESIZES = EDGE_RESIZES + ('Resize', 'RandomResize')
TEN_VIEW_CORNERS = ('square', 'full')
DEFAULTS = dict(
    scales=(256, 384, 480),
    view_scale=256,
    crop_size=224,
    flip=True,
    ten_view_corners='square')
STACKING_COLLATES = ('default_collate', )


def type_name(obj) -> str:
    """Registry name of a config's ``type`` (a string, maybe scoped as
    'mmpretrain.X', or the class/function itself in a Python config)."""
    name = obj if isinstance(obj, str) else getattr(obj, '__name__', '')
    return name.split('.')[-1]


def flip_views(flipped_first: bool = False) -> list:
    """The two ``TestTimeAug`` options of the image and its horizontal
    flip (``flipped_first``: mmpretrain's ``--tta`` order)."""
    probs = (1., 0.) if flipped_first else (0., 1.)
    return [dict(type='RandomFlip', prob=p) for p in probs]


def _split_pipeline(pipeline: list):
    """(loading steps before the first resize, the final packing step)."""
    types = [step['type'] for step in pipeline]
    first = next((i for i, t in enumerate(types) if t in RESIZES), None)
    if first is None or types[-1] != 'PackInputs':
        raise ValueError(
            f'test protocols need a test pipeline of the form [load, ..., '
            f'resize, ..., PackInputs]; got {types}')
    return copy.deepcopy(pipeline[:first]), copy.deepcopy(pipeline[-1])


def protocol_views(name: str,
                   scales: Sequence[int],
                   view_scale: int,
                   crop_size: int,
                   flip: bool,
                   ten_view_corners: str = 'square') -> list:
    """The ``TestTimeAug.transforms`` lists (without packing) of a
    protocol."""

    def resize(s):
        return dict(type='ResizeEdge', scale=int(s), edge='short')

    flips = flip_views()
    if name == 'center':
        views = [[resize(view_scale)],
                 [dict(type='CenterCrop', crop_size=crop_size)]]
    elif name == 'ten-view':
        if ten_view_corners not in TEN_VIEW_CORNERS:
            raise ValueError(f'test_protocol.ten_view_corners: unknown '
                             f'value {ten_view_corners!r}; valid: '
                             f'{TEN_VIEW_CORNERS}')
        views = [[resize(view_scale)]]
        if ten_view_corners == 'square':  # AlexNet: the central square
            views.append([
                dict(
                    type='PositionalCrop',
                    crop_size=view_scale,
                    position='center')
            ])
        return views + [[
            dict(type='PositionalCrop', crop_size=crop_size, position=p)
            for p in CORNERS
        ], flips]
    elif name in ('whole', 'dense'):
        if not scales or any(int(s) < 1 for s in scales):
            raise ValueError(f'test protocol {name!r}: scales must be '
                             f'positive sizes, got {scales!r}')
        views = [[resize(s) for s in scales]]
    else:
        raise ValueError(f'unknown test protocol {name!r}; valid: '
                         f'{PROTOCOLS}')
    return views + [flips] if flip else views


def _settings(cfg, given: dict) -> dict:
    """``DEFAULTS``, then the config's ``test_protocol``, then ``given``
    (its ``None`` values left out); unknown config keys are an error."""
    settings = dict(DEFAULTS)
    from_cfg = dict(cfg.get('test_protocol', None) or {})
    unknown = sorted(set(from_cfg) - set(DEFAULTS))
    if unknown:
        raise ValueError(f'test_protocol: unknown keys {unknown}; valid '
                         f'keys: {sorted(DEFAULTS)}')
    settings.update(from_cfg)
    settings.update({k: v for k, v in given.items() if v is not None})
    return settings


def _collate_without_stacking(cfg) -> None:
    """The test loader collates with ``pseudo_collate`` unless the config
    names a collate function of its own (see the module docstring)."""
    loader = copy.deepcopy(cfg.test_dataloader)
    collate = loader.get('collate_fn', None)
    if collate is None or type_name(collate.get('type',
                                                '')) in STACKING_COLLATES:
        loader['collate_fn'] = dict(type='pseudo_collate')
    cfg.test_dataloader = loader


def apply_test_protocol(cfg,
                        name: str,
                        scales: Optional[Sequence[int]] = None,
                        view_scale: Optional[int] = None,
                        crop_size: Optional[int] = None,
                        flip: Optional[bool] = None,
                        window: Optional[int] = None,
                        stride: Optional[int] = None,
                        ten_view_corners: Optional[str] = None):
    """Rewrite ``cfg`` (an mmengine ``Config``) in place so that
    ``tools/test.py --tta`` evaluates with protocol ``name``.

    ``flip=None`` means the config's default (``True``) for ``whole`` and
    ``dense``, no flip for ``center``; ``ten-view`` always flips.
    """
    if name not in PROTOCOLS:
        raise ValueError(f'unknown test protocol {name!r}; valid: '
                         f'{PROTOCOLS}')
    settings = _settings(
        cfg,
        dict(
            scales=scales,
            view_scale=view_scale,
            crop_size=crop_size,
            flip=flip,
            ten_view_corners=ten_view_corners))
    if name == 'center' and flip is None:
        settings['flip'] = False
    loading, pack = _split_pipeline(cfg.test_dataloader.dataset.pipeline)
    views = protocol_views(name, **{k: settings[k] for k in DEFAULTS})
    cfg.tta_pipeline = loading + [
        dict(type='TestTimeAug', transforms=views + [[pack]])
    ]
    tta_model = dict(type='AverageClsScoreTTA')
    if name == 'dense':
        tta_model = dict(cfg.get('tta_model', None) or {})
        if type_name(tta_model.get('type', '')) != 'DenseWindowTTA':
            tta_model = dict(type='DenseWindowTTA')
        for key, value in (('window', window), ('stride', stride)):
            if value is not None:
                tta_model[key] = value
    cfg.tta_model = tta_model
    _collate_without_stacking(cfg)
    return cfg
