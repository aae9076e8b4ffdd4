from .colour import PCALighting
from .crop import LimitAspectRatio, PositionalCrop
from .loading import LoadImageSafely, bad_image_stats

__all__ = [
    'PCALighting', 'PositionalCrop', 'LimitAspectRatio', 'LoadImageSafely',
    'bad_image_stats'
]
