from .activation import PReLU, build_activation
from .init import MSRAInit
from .prelu_function import PReLUFunction

__all__ = ['PReLU', 'build_activation', 'MSRAInit', 'PReLUFunction']
