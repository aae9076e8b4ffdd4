from .prelu_net_head import LayerwiseNormalInit, PReLUNetHead

__all__ = ['PReLUNetHead', 'LayerwiseNormalInit']
