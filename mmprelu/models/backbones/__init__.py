from .prelu_net import PReLUNet

__all__ = ['PReLUNet']
