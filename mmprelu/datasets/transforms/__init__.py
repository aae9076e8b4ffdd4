from .colour import PCALighting
from .crop import PositionalCrop
from .loading import LoadImageSafely, bad_image_stats, decode_image
from .resize import RandomResizeEdge

__all__ = [
    'PCALighting', 'PositionalCrop', 'RandomResizeEdge', 'LoadImageSafely',
    'bad_image_stats', 'decode_image'
]
