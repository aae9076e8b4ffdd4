from .resize import RandomResizeEdge

__all__ = ['RandomResizeEdge']
