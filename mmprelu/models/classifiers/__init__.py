from .prelu_net_classifier import PReLUNetClassifier

__all__ = ['PReLUNetClassifier']
