from .activation import (PReLU, build_activation, get_prelu_impl, prelu_impl,
                         restore_model_prelu_impl, set_model_prelu_impl,
                         set_prelu_impl)
from .init import MSRAInit
from .prelu_function import PReLUFunction, fast_prelu

__all__ = [
    'PReLU', 'build_activation', 'MSRAInit', 'PReLUFunction', 'fast_prelu',
    'get_prelu_impl', 'set_prelu_impl', 'prelu_impl', 'set_model_prelu_impl',
    'restore_model_prelu_impl'
]
