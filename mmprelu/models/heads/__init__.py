from .prelu_net_head import PReLUNetHead

__all__ = ['PReLUNetHead']
