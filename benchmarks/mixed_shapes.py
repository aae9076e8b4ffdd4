"""Batches of mixed image shapes in ``PReLUNetClassifier.predict``.

Side by side in one run (interleaved repeats, median times), on a
PReLU-net of ``--arch`` at ``--width`` times the paper's channels:

* ``equal`` -- a batch of ``--batch`` centre crops (224, validation during
  training): ``predict`` (the images grouped by shape: one group, the batch
  passed through) against ``plain``, the trunk, SPP and head called
  directly on the batch (what ``predict`` did for equal shapes before the
  grouping). Their ratio is the cost of the grouping on validation.
* ``mixed`` -- ``--batch`` whole images at shorter side ``--scale`` in
  three shapes (landscape 4:3, portrait 3:4, square: ImageNet val's
  common shapes), padded into one batch as the data preprocessor does:
  ``predict`` (one trunk pass per shape) against ``one-by-one``, each
  image cropped and run alone (what ``predict`` did before). The scores
  of the two are compared (max absolute difference).
* ``collate`` -- mmpretrain's ``ClsDataPreprocessor`` on the uint8 crops
  stacked by ``default_collate`` against the same crops as the list
  ``pseudo_collate`` gives (normalised one by one, then stacked).

    python benchmarks/mixed_shapes.py --arch A --width 0.25 --threads 2
"""
import torch
from mmpretrain.structures import DataSample

from mmprelu.models import PReLUNetClassifier
from mmprelu.registry import MODELS

if __package__:  # imported (tests): benchmarks.mixed_shapes
    from ._common import (add_model_args, add_run_args, apply_run_args,
                          interleaved_medians, make_parser, write_json)
else:  # run as a script: its folder is sys.path[0]
    from _common import (add_model_args, add_run_args, apply_run_args,
                         interleaved_medians, make_parser, write_json)

# (h, w) ratios: landscape 4:3, portrait 3:4, square
SHAPES = ((3, 4), (4, 3), (1, 1))


def build(arch, width, hidden):
    from mmprelu.models import PReLUNet
    settings = PReLUNet.parse_arch(arch)
    settings['channels'] = tuple(
        max(1, int(c * width)) for c in settings['channels'])
    model = PReLUNetClassifier(
        backbone=dict(type='PReLUNet', arch=settings),
        neck=dict(type='SpatialPyramidPooling', levels=(7, 3, 2, 1)),
        head=dict(
            type='PReLUNetHead',
            num_classes=1000,
            in_channels=settings['channels'][-1] * 63,
            mid_channels=(hidden, hidden)))
    model.init_weights()
    return model.eval()


def mixed_batch(batch, scale, gen):
    """Images of the three SHAPES (cycled), padded to one batch."""
    sizes = []
    for i in range(batch):
        rh, rw = SHAPES[i % len(SHAPES)]
        sizes.append((scale * rh // min(rh, rw), scale * rw // min(rh, rw)))
    height, width = max(h for h, _ in sizes), max(w for _, w in sizes)
    inputs = torch.zeros(batch, 3, height, width)
    for i, (h, w) in enumerate(sizes):
        inputs[i, :, :h, :w] = torch.randn(3, h, w, generator=gen) * 50
    samples = [DataSample(metainfo=dict(img_shape=s)) for s in sizes]
    return inputs, samples, sizes


def main(argv=None):
    parser = make_parser(__doc__)
    add_model_args(parser)
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--scale', type=int, default=256)
    parser.add_argument('--crop', type=int, default=224)
    add_run_args(parser, repeats=3)
    args = parser.parse_args(argv)
    apply_run_args(args)
    torch.manual_seed(0)
    model = build(args.arch, args.width, args.hidden)
    gen = torch.Generator().manual_seed(0)

    crops = torch.randn(args.batch, 3, args.crop, args.crop, generator=gen)
    crop_samples = [
        DataSample(metainfo=dict(img_shape=(args.crop, ) * 2))
        for _ in range(args.batch)
    ]
    inputs, samples, sizes = mixed_batch(args.batch, args.scale, gen)

    def plain():
        fmap = model.backbone(crops)[-1]
        return model.head(model.neck((fmap, ))).softmax(1)

    def one_by_one():
        return torch.stack([
            model.predict(img[None, :, :h, :w])[0].pred_score
            for img, (h, w) in zip(inputs, sizes)
        ])

    def scores(data_samples):
        return torch.stack([s.pred_score for s in data_samples])

    prep = MODELS.build(
        dict(
            type='ClsDataPreprocessor',
            to_rgb=True,
            mean=[123.675, 116.28, 103.53],
            std=[1., 1., 1.]))
    uint8 = (crops.abs() * 40).clamp(0, 255).to(torch.uint8)
    methods = {
        'equal/predict': lambda: scores(model.predict(crops, crop_samples)),
        'equal/plain': plain,
        'mixed/predict': lambda: scores(model.predict(inputs, samples)),
        'mixed/one-by-one': one_by_one,
        'collate/default': lambda: prep(dict(inputs=uint8))['inputs'],
        'collate/pseudo': lambda: prep(dict(inputs=list(uint8)))['inputs'],
    }
    median, outputs = interleaved_medians(methods, args.repeats, no_grad=True)
    ratios = dict(
        equal_predict_over_plain=median['equal/predict'] /
        median['equal/plain'],
        mixed_one_by_one_over_predict=median['mixed/one-by-one'] /
        median['mixed/predict'],
        collate_pseudo_over_default=median['collate/pseudo'] /
        median['collate/default'])
    result = dict(
        arch=args.arch,
        width=args.width,
        hidden=args.hidden,
        batch=args.batch,
        threads=torch.get_num_threads(),
        mixed_sizes=sorted(set(sizes)),
        seconds=median,
        ratios=ratios,
        max_abs_diff_equal=float(
            (outputs['equal/predict'] - outputs['equal/plain']).abs().max()),
        max_abs_diff_mixed=float((outputs['mixed/predict'] -
                                  outputs['mixed/one-by-one']).abs().max()),
        collate_equal=bool(
            torch.equal(outputs['collate/default'],
                        outputs['collate/pseudo'])))
    print(f'{args.arch} x{args.width}, batch {args.batch}, '
          f'{torch.get_num_threads()} threads; mixed shapes '
          f'{sorted(set(sizes))}')
    for name, sec in median.items():
        print(f'{name:<18}{sec:>10.4f} s')
    for name, value in ratios.items():
        print(f'{name:<34}{value:>7.2f}')
    print(f"max |diff| equal {result['max_abs_diff_equal']:.1e}, mixed "
          f"{result['max_abs_diff_mixed']:.1e}; collate identical: "
          f"{result['collate_equal']}")
    return write_json(args.out, result)


if __name__ == '__main__':
    main()
