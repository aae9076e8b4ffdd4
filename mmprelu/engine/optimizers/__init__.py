from .prelu_constructor import PReLUOptimWrapperConstructor

__all__ = ['PReLUOptimWrapperConstructor']
