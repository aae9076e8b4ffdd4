"""``type='PReLUConverted'``: any mmpretrain model, with PReLU and MSRA
init, from a config.

Two equivalent forms; the second suits ``_base_`` inheritance::

    # a) the model config nested under `model`
    model = dict(type='PReLUConverted',
                 model=dict(type='ImageClassifier', backbone=..., head=...),
                 channel_shared=False, init=0.25, scope='backbone')

    # b) on top of a base config's `model = dict(type='ImageClassifier', ..)`
    model = dict(type='PReLUConverted', model_type='ImageClassifier',
                 scope='backbone')

The builder returns the converted model itself, not a wrapper: every
state-dict key of the original model is unchanged, so stock checkpoints
and ``init_cfg=dict(type='Pretrained')`` still apply.
"""
import types
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.logging import print_log

from mmprelu.registry import MODELS
from .relu_to_prelu import _check_msra_cfg, apply_msra, convert_relu_to_prelu

__all__ = ['PReLUConverted', 'build_prelu_converted']


def pretrained_prefixes(model: nn.Module) -> list:
    """Names of the modules whose ``init_cfg`` loads a ``Pretrained``
    checkpoint (``''`` for the model itself)."""
    out = []
    for name, m in model.named_modules():
        cfgs = getattr(m, 'init_cfg', None) or []
        cfgs = cfgs if isinstance(cfgs, (list, tuple)) else [cfgs]
        if any(
                isinstance(c, dict) and c.get('type') == 'Pretrained'
                for c in cfgs):
            out.append(name)
    return out


def _init_weights_then_msra(self) -> None:
    """``init_weights`` of a model built by ``PReLUConverted``: the model's
    own ``init_weights`` (its ``init_cfg``s, e.g. ResNet's Kaiming), then
    MSRA init of the converted part, except under a module that loads a
    ``Pretrained`` checkpoint."""
    type(self).init_weights(self)
    state = self._prelu_msra
    skip = pretrained_prefixes(self)
    done = apply_msra(self, state['slopes'], state['cfg'], skip)
    note = f'; kept pretrained weights under {skip}' if skip else ''
    print_log(
        f'PReLUConverted: MSRA init ({state["cfg"]}) of '
        f'{len(done)} layer(s){note}',
        logger='current')


def build_prelu_converted(model: Optional[dict] = None,
                          model_type: str = 'ImageClassifier',
                          channel_shared: bool = False,
                          init: float = 0.25,
                          msra: Optional[dict] = dict(mode='fan_out'),
                          scope=None,
                          convert_types: Sequence = ('ReLU', ),
                          strict: bool = False,
                          input_shape: Sequence[int] = (1, 3, 224, 224),
                          **model_kwargs) -> nn.Module:
    """Build a model from mmpretrain's ``MODELS`` and convert its ReLUs to
    PReLU (:func:`convert_relu_to_prelu`, same options).

    Args:
        model (dict, optional): config of the model to convert (form a).
        model_type (str): with ``model`` absent, the type of the model whose
            other keys (``backbone``, ``neck``, ``head``, ...) are given
            directly (form b). Defaults to ``'ImageClassifier'``.
        msra (dict, optional): MSRA init of the converted part (default
            ``dict(mode='fan_out')``, Eq. 14/15); ``None`` keeps the model's
            own init. It runs in ``model.init_weights()`` (which the Runner
            calls), after the model's own ``init_cfg``s, and skips modules
            that load a ``Pretrained`` checkpoint.
        Others: see :func:`convert_relu_to_prelu`. Warnings about ReLUs
        that could not be converted are emitted (``strict=True`` raises).

    Returns:
        nn.Module: the converted model; ``model.prelu_report`` is the
        :class:`ConversionReport` (also logged).
    """
    if model is not None and 'data_preprocessor' in model_kwargs:
        # the Runner and mmpretrain's get_model set it on the outer dict
        model = dict(model)
        preprocessor = model_kwargs.pop('data_preprocessor')
        if model.get('data_preprocessor') is None:
            model['data_preprocessor'] = preprocessor
    if model is not None and model_kwargs:
        raise ValueError(
            f'PReLUConverted: give the model either nested as model=dict('
            f'...) or as flat keys with model_type, not both; extra keys: '
            f'{sorted(model_kwargs)}')
    if model is None:
        if not model_kwargs:
            raise ValueError('PReLUConverted: no model given; use model='
                             'dict(type=...) or the model keys with '
                             'model_type')
        model = dict(type=model_type, **model_kwargs)
    if not isinstance(model, dict) or 'type' not in model:
        raise TypeError(f'PReLUConverted: model must be a config dict with '
                        f'a "type", got {model!r}')
    try:
        net = MODELS.build(model)
    except TypeError as err:
        raise TypeError(
            f'PReLUConverted: building {model["type"]!r} failed: {err}. '
            f'Conversion options are channel_shared, init, msra, scope, '
            f'convert_types, strict, input_shape; every other key goes to '
            f'the model') from err
    report = convert_relu_to_prelu(
        net,
        channel_shared=channel_shared,
        init=init,
        scope=scope,
        convert_types=convert_types,
        msra=msra,
        strict=strict,
        input_shape=input_shape)
    print_log(str(report), logger='current')
    net.prelu_report = report
    if msra is not None and hasattr(net, 'init_weights'):
        net._prelu_msra = dict(cfg=_check_msra_cfg(msra), slopes=report.msra)
        net.init_weights = types.MethodType(_init_weights_then_msra, net)
    return net


#: the registered name, also ``mmprelu.PReLUConverted`` for other scopes
PReLUConverted = build_prelu_converted
MODELS.register_module(name='PReLUConverted', module=build_prelu_converted)
