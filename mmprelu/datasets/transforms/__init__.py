from .colour import PCALighting
from .crop import PositionalCrop
from .resize import RandomResizeEdge

__all__ = ['PCALighting', 'PositionalCrop', 'RandomResizeEdge']
