# The tiny digits PReLU-net (configs/prelu_net_tiny_1xb64_digits.py) on the
# photographs of tools/dataset_converters/skimage2imagenet.py (13 classes,
# mixed sizes, orientations and formats), at the paper configs' test batch
# size 16. Tests set data_root. Scales stay small (shorter side 64 and 88;
# the tiny net's last map is 8x8 at 64) so that every run takes seconds.
_base_ = ['../../../configs/prelu_net_tiny_1xb64_digits.py']

data_root = 'data/photos'
classes = [
    'astronaut', 'coffee', 'chelsea', 'rocket', 'hubble_deep_field',
    'immunohistochemistry', 'camera', 'coins', 'page', 'horse', 'text',
    'clock', 'logo'
]
data_preprocessor = dict(num_classes=13)
model = dict(head=dict(num_classes=13))
train_dataloader = dict(
    batch_size=16,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes)))
val_dataloader = dict(
    batch_size=16,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes)))
test_dataloader = val_dataloader

test_protocol = dict(scales=(64, 88))
tta_pipeline = [
    dict(type='LoadImageSafely', imdecode_backend='cv2'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='ResizeEdge', scale=s, edge='short') for s in (64, 88)],
            [
                dict(type='RandomFlip', prob=0.),
                dict(type='RandomFlip', prob=1.)
            ],
            [dict(type='PackInputs')],
        ]),
]
