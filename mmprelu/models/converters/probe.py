"""Probe forward: where each activation is called, on how many channels,
and which conv / linear layers feed it.

A network's ``__init__`` does not say how its modules are used: one ReLU
module may be called at several places (ResNet's ``Bottleneck``), a
``forward`` may call ``F.relu`` directly, and the layer whose output an
activation rectifies is not always the previous one in registration order
(``conv3`` and the shortcut ``downsample`` both feed the ReLU after the
residual add). We therefore run one forward pass on a dummy input and
record, with module hooks and a :class:`TorchFunctionMode`:

* every call of every activation module, in order: channel count
  (dimension 1 of its input) and the innermost module running it;
* every functional rectifier call (``F.relu``, ``torch.relu``,
  ``Tensor.relu``, ...) not made by an activation module, attributed to the
  innermost running module;
* data flow: each tensor carries the set of weight layers whose output
  reached it through any non-activation operations (BN, pooling, adds,
  reshapes); the first activation that consumes it is the one that
  "follows" those layers for MSRA init (Eq. 15).

The pass normally runs on the ``meta`` device (through
:func:`torch.func.functional_call` with meta copies of the parameters and
buffers, so the model itself is never edited): no arithmetic, any input
size for free. If the model cannot run on meta tensors it is rerun on its own
device. Either way it runs in eval mode without gradients and leaves the
parameters, buffers, training flags and the global RNG untouched.
"""
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call
from torch.overrides import TorchFunctionMode

from ..utils.activation import activation_slope
from ..utils.init import WEIGHT_LAYERS

__all__ = ['probe_model', 'ProbeResult', 'SiteCall', 'FUNCTIONAL_RECTIFIERS']


def tensors_in(values):
    """The tensors in nested lists / tuples (named tuples, torch's return
    types) / dict values, in order: the containers a module's arguments and
    outputs use. (Written here rather than ``torch.utils._pytree``, which is
    private and changed its names across the supported torch range.)"""
    if isinstance(values, torch.Tensor):
        yield values
    elif isinstance(values, (list, tuple)):
        for v in values:
            yield from tensors_in(v)
    elif isinstance(values, dict):
        for v in values.values():
            yield from tensors_in(v)


def _leaky_slope(args, kwargs) -> float:
    if len(args) > 1:
        return float(args[1])
    return float(kwargs.get('negative_slope', 0.01))


def _zero(args, kwargs) -> float:
    return 0.0


#: functional rectifier -> (module type it stands for, name, its slope)
FUNCTIONAL_RECTIFIERS: Dict[Callable, Tuple[str, str, Callable]] = {
    F.relu: ('ReLU', 'F.relu', _zero),
    F.relu_: ('ReLU', 'F.relu_', _zero),
    torch.relu: ('ReLU', 'torch.relu', _zero),
    torch.relu_: ('ReLU', 'torch.relu_', _zero),
    torch.Tensor.relu: ('ReLU', 'Tensor.relu', _zero),
    torch.Tensor.relu_: ('ReLU', 'Tensor.relu_', _zero),
    F.relu6: ('ReLU6', 'F.relu6', _zero),
    F.leaky_relu: ('LeakyReLU', 'F.leaky_relu', _leaky_slope),
    F.leaky_relu_: ('LeakyReLU', 'F.leaky_relu_', _leaky_slope),
}


@dataclass
class SiteCall:
    """One call of an activation module."""
    channels: Optional[int]  # input.shape[1], None for a 0-d/1-d input
    ndim: int
    parent: Optional[str]  # name of the innermost module running the call


@dataclass
class ProbeResult:
    calls: Dict[nn.Module, List[SiteCall]] = field(default_factory=dict)
    # (module name, module type, rectifier type, function name) per call
    functional: List[Tuple[str, str, str, str]] = field(default_factory=list)
    # weight-layer name -> slope of the first rectifier its output reaches,
    # and what that rectifier was: (module, call index) or a function name
    feeds: Dict[str, Tuple[object, float]] = field(default_factory=dict)
    called: Set[str] = field(default_factory=set)
    on_meta: bool = True


class _Recorder:

    def __init__(self, model: nn.Module, act_types: tuple) -> None:
        self.names = {m: n for n, m in model.named_modules()}
        self.acts = {
            m
            for m in self.names
            if isinstance(m, act_types) or activation_slope(m) is not None
        }
        self.stack: List[nn.Module] = []
        self.flow: Dict[int, Tuple[torch.Tensor, frozenset]] = {}
        self.result = ProbeResult(calls=defaultdict(list))

    def sources(self, values) -> frozenset:
        out = frozenset()
        for t in tensors_in(values):
            if id(t) in self.flow:
                out = out | self.flow[id(t)][1]
        return out

    def mark(self, values, srcs: frozenset) -> None:
        for t in tensors_in(values):
            # the tensor is kept alive, so its id is not reused
            self.flow[id(t)] = (t, srcs)

    def consume(self, srcs: frozenset, consumer, slope: float) -> None:
        for name in srcs:
            self.result.feeds.setdefault(name, (consumer, slope))

    def on_function(self, func, args, kwargs, out) -> None:
        srcs = self.sources((args, kwargs))
        rect = FUNCTIONAL_RECTIFIERS.get(func)
        owner = self.stack[-1] if self.stack else None
        if rect is not None and owner not in self.acts:
            self.result.functional.append(
                (self.names.get(owner,
                                ''), type(owner).__name__, rect[0], rect[1]))
            self.consume(srcs, rect[1], rect[2](args, kwargs))
            srcs = frozenset()
        self.mark(out, srcs)

    def pre_hook(self, module, args, kwargs) -> None:
        parent = self.stack[-1] if self.stack else None
        self.stack.append(module)
        if module not in self.acts:
            return
        xs = list(tensors_in((args, kwargs)))
        if not xs:
            return
        calls = self.result.calls[module]
        calls.append(
            SiteCall(
                channels=int(xs[0].shape[1]) if xs[0].dim() >= 2 else None,
                ndim=xs[0].dim(),
                parent=self.names.get(parent) if parent is not None else None))
        slope = activation_slope(module)
        self.consume(
            self.sources(xs[0]), (module, len(calls) - 1),
            0.0 if slope is None else slope)

    def post_hook(self, module, args, kwargs, output) -> None:
        if self.stack and self.stack[-1] is module:
            self.stack.pop()
        if isinstance(module, WEIGHT_LAYERS):
            self.result.called.add(self.names[module])
            self.mark(output, frozenset([self.names[module]]))
        elif module in self.acts:
            self.mark(output, frozenset())


class _FlowMode(TorchFunctionMode):

    def __init__(self, recorder: _Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.recorder.on_function(func, args, kwargs, out)
        return out


class _Call(nn.Module):
    """``forward(model, x)`` as a module, for :func:`functional_call`."""

    def __init__(self, model: nn.Module, forward: Callable) -> None:
        super().__init__()
        self.model = model
        self.fn = forward

    def forward(self, x):
        return self.fn(self.model, x)


def _on_meta(model: nn.Module, forward: Callable) -> Callable:
    """``forward`` run with meta copies of the parameters and buffers
    (``functional_call`` swaps them in and restores the originals; tied
    tensors are listed once and stay tied)."""
    state = {
        f'model.{name}': t.detach().to('meta')
        for named in (model.named_parameters(), model.named_buffers())
        for name, t in named
    }
    call = _Call(model, forward)
    return lambda _, x: functional_call(call, state, (x, ))


@contextlib.contextmanager
def _eval_mode(model: nn.Module):
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, flag in flags:
            m.training = flag


def default_forward(model: nn.Module, x: torch.Tensor):
    """``model(x, mode='tensor')`` for mmengine models, else ``model(x)``."""
    from mmengine.model import BaseModel
    if isinstance(model, BaseModel):
        return model(x, mode='tensor')
    return model(x)


def _run(model, act_types, x, forward) -> ProbeResult:
    recorder = _Recorder(model, act_types)
    handles = []
    try:
        for m in recorder.names:
            handles.append(
                m.register_forward_pre_hook(
                    recorder.pre_hook, with_kwargs=True))
            handles.append(
                m.register_forward_hook(recorder.post_hook, with_kwargs=True))
        with _eval_mode(model), torch.no_grad(), _FlowMode(recorder):
            forward(model, x)
    finally:
        for h in handles:
            h.remove()
    recorder.result.calls = dict(recorder.result.calls)
    return recorder.result


def probe_model(model: nn.Module,
                act_types: tuple,
                input_shape: Sequence[int] = (1, 3, 224, 224),
                forward: Optional[Callable] = None) -> ProbeResult:
    """Run the probe forward (see the module docstring).

    Args:
        model: the network.
        act_types: module types to record as activations (in addition to
            every rectifier :func:`activation_slope` knows).
        input_shape: shape of the dummy input (zeros).
        forward: ``forward(model, x)``; defaults to :func:`default_forward`.

    Raises:
        RuntimeError: the model fails on the dummy input, on meta tensors
            and on its own device; names the input shape.
    """
    forward = forward or default_forward
    shape = tuple(int(s) for s in input_shape)
    try:
        return _run(model, act_types, torch.zeros(shape, device='meta'),
                    _on_meta(model, forward))
    except Exception:  # noqa: BLE001 - retried for real below
        pass
    ref = next((t for t in list(model.parameters()) + list(model.buffers())
                if t.is_floating_point()), None)
    device = ref.device if ref is not None else torch.device('cpu')
    dtype = ref.dtype if ref is not None else torch.float32
    try:
        result = _run(model, act_types,
                      torch.zeros(shape, device=device, dtype=dtype), forward)
    except Exception as err:
        raise RuntimeError(
            f'convert_relu_to_prelu: the probe forward failed on a dummy '
            f'input of shape {shape} ({type(err).__name__}: {err}); pass '
            f'input_shape= (N, C, H, W) that the model accepts, or forward='
            f'a callable(model, x)') from err
    result.on_meta = False
    return result
