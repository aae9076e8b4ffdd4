from .spp import SpatialPyramidPooling

__all__ = ['SpatialPyramidPooling']
