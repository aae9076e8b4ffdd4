from .dense_window_tta import DenseWindowTTA

__all__ = ['DenseWindowTTA']
