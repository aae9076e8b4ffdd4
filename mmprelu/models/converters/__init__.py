"""Convert existing models (mmpretrain's zoo or any ``nn.Module``) to the
paper's PReLU + MSRA init: :func:`convert_relu_to_prelu` and the config
builder ``type='PReLUConverted'``."""
from .builder import PReLUConverted, build_prelu_converted
from .multi_site import MultiSitePReLU, register_site_resets
from .relu_to_prelu import apply_msra, convert_relu_to_prelu
from .report import ConversionError, ConversionReport

__all__ = [
    'PReLUConverted', 'build_prelu_converted', 'MultiSitePReLU',
    'register_site_resets', 'apply_msra', 'convert_relu_to_prelu',
    'ConversionError', 'ConversionReport'
]
