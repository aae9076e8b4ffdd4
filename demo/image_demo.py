"""Classify one image with a config (or model name) and a checkpoint, as
mmpretrain's ``demo/image_demo.py`` does, printing the top-k classes with
their scores as JSON.

    python demo/image_demo.py IMAGE CONFIG CHECKPOINT [--topk 5]
        [--show-dir DIR] [--show] [--device cpu|cuda]

``CONFIG`` is a config file (``configs/prelu_net_tiny_1xb64_digits.py``)
or a model name of ``mmpretrain.list_models('*relu')`` (the tool registers
our names: ``mmprelu.apis.register_models()``); the checkpoint may also be
given as ``--checkpoint``, mmpretrain's spelling. ``--show-dir`` saves the
image with its prediction drawn on it (``DIR/<image name>.png``); images
with a shorter side below 224 pixels are enlarged for the drawing
(``--vis-size``). Prediction is
``mmpretrain.ImageClassificationInferencer`` with the config's test
pipeline (for our configs: ``LoadImageSafely``, shorter side resize, centre
crop). Without a checkpoint the model has random weights (mmprelu releases
no trained weights): the tool warns so.
"""
import argparse
import json
import os
import os.path as osp
import warnings

import numpy as np


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Classify an image (mmpretrain\'s image demo)')
    parser.add_argument('img', help='image file')
    parser.add_argument('model', help='config file or model name')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file')
    parser.add_argument(
        '--checkpoint',
        dest='checkpoint_opt',
        metavar='CHECKPOINT',
        help='same as the positional '
        'argument (mmpretrain\'s spelling)')
    parser.add_argument(
        '--topk',
        type=int,
        default=5,
        help='how many classes to print (default: 5)')
    parser.add_argument('--show-dir', help='save the drawn prediction here')
    parser.add_argument(
        '--show',
        action='store_true',
        help='show the drawn prediction in a window')
    parser.add_argument(
        '--vis-size',
        type=int,
        default=224,
        help='shorter side of the drawing at least this '
        '(default: 224)')
    parser.add_argument(
        '--device',
        default=None,
        help='cpu, cuda, ... (default: the available one)')
    return parser


def check_args(parser, args) -> None:
    if args.checkpoint and args.checkpoint_opt and \
            args.checkpoint != args.checkpoint_opt:
        parser.error(f'two different checkpoints: {args.checkpoint!r} and '
                     f'--checkpoint {args.checkpoint_opt!r}')
    args.checkpoint = args.checkpoint or args.checkpoint_opt
    if not osp.isfile(args.img):
        parser.error(f'image file {args.img!r} does not exist')
    if args.model.endswith('.py') and not osp.isfile(args.model):
        parser.error(f'config file {args.model!r} does not exist')
    if args.checkpoint and not osp.isfile(args.checkpoint):
        parser.error(f'checkpoint file {args.checkpoint!r} does not exist')
    if args.topk < 1:
        parser.error(f'--topk must be >= 1, got {args.topk}')


def top_classes(result: dict, classes, k: int) -> list:
    """[{label, class, score}] of the ``k`` best classes of one
    inferencer result."""
    scores = np.asarray(result['pred_scores'])
    order = np.argsort(-scores, kind='stable')[:k]
    return [
        dict(
            label=int(i),
            score=round(float(scores[i]), 6),
            **({
                'class': str(classes[i])
            } if classes else {})) for i in order
    ]


def to_json(out: dict) -> str:
    """``out`` as indented JSON with one line per top-k class."""
    head = json.dumps({
        k: v
        for k, v in out.items() if k != 'topk'
    }, indent=4)[:-2]
    rows = ',\n'.join('        ' + json.dumps(t) for t in out['topk'])
    return f'{head},\n    "topk": [\n{rows}\n    ]\n}}'


def main(argv=None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)

    import mmcv
    from mmpretrain import ImageClassificationInferencer

    import mmprelu  # noqa: F401  (registers our modules)
    if not osp.isfile(args.model):  # a model name: our names on request
        mmprelu.apis.register_models()
    if not args.checkpoint:
        warnings.warn(
            f'image_demo.py: no checkpoint given: {args.model} predicts with '
            f'randomly initialized weights (mmprelu releases no trained '
            f'weights); pass the checkpoint of a training run, e.g. '
            f'work_dirs/demo_digits/epoch_24.pth after tools/demo_digits.sh')

    inferencer = ImageClassificationInferencer(
        args.model, pretrained=args.checkpoint or False, device=args.device)
    visual = {}
    if args.show or args.show_dir:
        # mmpretrain creates only the last folder of show_dir
        if args.show_dir:
            os.makedirs(args.show_dir, exist_ok=True)
        short = min(mmcv.imread(args.img).shape[:2])
        visual = dict(
            show=args.show,
            show_dir=args.show_dir,
            resize=args.vis_size if short < args.vis_size else None)
    result = inferencer(args.img, **visual)[0]
    out = dict(
        pred_label=result['pred_label'],
        pred_score=round(result['pred_score'], 6),
        pred_class=result.get('pred_class'),
        topk=top_classes(result, inferencer.classes, args.topk))
    print()  # after the inferencer's progress bar
    print(to_json(out))
    if args.show_dir:
        stem = osp.splitext(osp.basename(args.img))[0]
        print(f'drawn prediction saved to '
              f'{osp.join(args.show_dir, stem + ".png")}')
    return out


if __name__ == '__main__':
    main()
