"""The toy COCO data of the detection tests."""
import json

import numpy as np
import pytest

#: Category names of :func:`coco_root`, ids 1 and 2.
CLASSES = ('red', 'green')


@pytest.fixture(scope='session')
def coco_root(tmp_path_factory):
    """4 images of 96x96 with 1-2 filled rectangles each (red/green) and
    their boxes in ``train.json`` (COCO format), images in ``images/``."""
    cv2 = pytest.importorskip('cv2')
    root = tmp_path_factory.mktemp('coco')
    (root / 'images').mkdir()
    rng = np.random.default_rng(0)
    images, annotations = [], []
    for i in range(4):
        img = np.full((96, 96, 3), 40, np.uint8)
        for k in range(1 + i % 2):
            w, h = rng.integers(24, 44, size=2)
            x, y = rng.integers(0, 96 - w), rng.integers(0, 96 - h)
            label = (i + k) % 2
            img[y:y + h, x:x + w] = (0, 0, 220) if label == 0 else (0, 200, 0)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=i + 1,
                    category_id=label + 1,
                    bbox=[int(x), int(y), int(w),
                          int(h)],
                    area=int(w * h),
                    iscrowd=0))
        cv2.imwrite(str(root / 'images' / f'{i}.png'), img)
        images.append(
            dict(id=i + 1, file_name=f'{i}.png', width=96, height=96))
    categories = [dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)]
    (root / 'train.json').write_text(
        json.dumps(
            dict(
                images=images, annotations=annotations,
                categories=categories)))
    return root
