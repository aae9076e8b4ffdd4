"""What the detection tests share: a COCO-format annotation file for
photographs of the ``photos`` fixture (tests/conftest.py)."""
from pathlib import Path

import cv2


def coco_json(photos: Path, names, classes=('thing', 'stuff')) -> dict:
    """Two boxes per photograph under ``photos/val`` (one of each of the
    two ``classes``, ids 1 and 2), in its own frame."""
    images, annotations = [], []
    for image_id, name in enumerate(names, 1):
        height, width = cv2.imread(str(photos / 'val' / name)).shape[:2]
        images.append(
            dict(id=image_id, file_name=name, width=width, height=height))
        for label, (x, y, w, h) in enumerate([(.1, .1, .4, .5),
                                              (.5, .4, .35, .4)], 1):
            box = [x * width, y * height, w * width, h * height]
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=label,
                    bbox=box,
                    area=box[2] * box[3],
                    iscrowd=0))
    return dict(
        images=images,
        annotations=annotations,
        categories=[
            dict(id=i, name=name) for i, name in enumerate(classes, 1)
        ])
