from .activation import PReLU, build_activation
from .init import MSRAInit

__all__ = ['PReLU', 'build_activation', 'MSRAInit']
