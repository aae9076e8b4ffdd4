"""What :func:`~mmprelu.models.converters.convert_relu_to_prelu` did."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

__all__ = ['ConversionReport', 'ConvertedModule', 'ConversionError']


class ConversionError(ValueError):
    """``strict=True`` and some ReLU could not be converted."""


@dataclass
class ConvertedModule:
    """One activation module replaced by PReLU(s)."""
    name: str  # every name it is registered under, comma separated
    old_type: str
    channels: List[Optional[int]]  # per call site, in call order
    num_slopes: int
    reset_by: Optional[str] = None  # module whose forward resets the sites

    @property
    def keys(self) -> List[str]:
        """State-dict keys of the slopes (first name)."""
        name = self.name.split(', ')[0]
        if len(self.channels) == 1:
            return [f'{name}.weight']
        return [f'{name}.sites.{i}.weight' for i in range(len(self.channels))]


@dataclass
class ConversionReport:
    """Result of a conversion; ``str(report)`` is a readable summary.

    ``problems`` lists what was *not* converted although it is in scope and
    of a type to convert: activation modules never called by the probe
    forward (or called on inputs without a channel dimension, channel-wise)
    and functional calls (``F.relu`` etc.), which have no module to
    replace. ``left_alone`` lists rectifiers of other types (e.g.
    ``ReLU6`` when only ``'ReLU'`` is converted): expected, not a problem.
    """
    options: Dict[str, object] = field(default_factory=dict)
    converted: List[ConvertedModule] = field(default_factory=list)
    # (name, type, reason)
    not_converted: List[Tuple[str, str, str]] = field(default_factory=list)
    # (module name, module type, function, number of calls)
    functional: List[Tuple[str, str, str, int]] = field(default_factory=list)
    left_alone: List[Tuple[str, str]] = field(default_factory=list)
    # conv / linear name -> slope `a` used by MSRA init (Eq. 15)
    msra: Dict[str, float] = field(default_factory=dict)
    probe_on_meta: bool = True

    @property
    def num_sites(self) -> int:
        return sum(len(c.channels) for c in self.converted)

    @property
    def num_slopes(self) -> int:
        return sum(c.num_slopes for c in self.converted)

    @property
    def problems(self) -> List[str]:
        out = [
            f'{name} ({typ}): {reason}'
            for name, typ, reason in self.not_converted
        ]
        out += [
            f'{name or "<model>"} ({typ}) calls {func} {n} time(s) in '
            f'its forward: a functional call has no module to replace; '
            f'left as is (make it a module, e.g. self.relu = nn.ReLU(), '
            f'to convert it)' for name, typ, func, n in self.functional
        ]
        return out

    def __str__(self) -> str:
        opts = ', '.join(f'{k}={v!r}' for k, v in self.options.items())
        lines = [
            f'ReLU -> PReLU conversion ({opts}): '
            f'{len(self.converted)} module(s), {self.num_sites} call '
            f'site(s), {self.num_slopes} slope(s)'
        ]
        for c in self.converted:
            site = 'site' if len(c.channels) == 1 else 'sites'
            line = (f'  {c.name} ({c.old_type}): {len(c.channels)} {site}, '
                    f'channels {c.channels}')
            if c.reset_by is not None:
                line += f', reset by {c.reset_by or "<model>"}'
            lines.append(line)
        if self.left_alone:
            lines.append('left alone (type not in convert_types):')
            lines += [f'  {n} ({t})' for n, t in self.left_alone]
        if self.problems:
            lines.append('NOT converted:')
            lines += [f'  {p}' for p in self.problems]
        if self.msra:
            counts: Dict[float, int] = {}
            for a in self.msra.values():
                counts[a] = counts.get(a, 0) + 1
            parts = ', '.join(f'a={a:g}: {n}'
                              for a, n in sorted(counts.items()))
            lines.append(f'MSRA init of {len(self.msra)} layer(s) ({parts})')
        return '\n'.join(lines)
