"""What the benchmarks share: the command line's common options, the
interleaved timing, the JSON output (``--out``) and whether CPU autocast
takes a dtype.

Every benchmark times its variants *interleaved* (variant 1, 2, ..., then
again) and reports medians, so that load from other jobs on the machine
falls on all of them alike and the printed ratios stay meaningful.

Imported as ``benchmarks._common`` (tests) or ``_common`` (run as a
script, whose folder is ``sys.path[0]``).
"""
import argparse
import functools
import json
import logging
import statistics
import time
import warnings
from typing import Callable, Dict, Optional, Tuple

import torch


def make_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first line of the benchmark's ``doc``."""
    return argparse.ArgumentParser(description=doc.split('\n')[0])


def add_model_args(parser: argparse.ArgumentParser,
                   arch: str = 'A',
                   archs: str = 'A, B or C') -> None:
    """``--arch``, ``--width`` (channel multiplier) and ``--hidden`` (fc
    width) of the PReLU-net a benchmark builds."""
    parser.add_argument('--arch', default=arch, help=archs)
    parser.add_argument(
        '--width',
        type=float,
        default=0.25,
        help='channel multiplier (CPU: keep it small)')
    parser.add_argument(
        '--hidden', type=int, default=1024, help='fc1/fc2 width (paper: 4096)')


def add_run_args(parser: argparse.ArgumentParser,
                 repeats: int,
                 threads: Optional[int] = 0) -> None:
    """``--repeats``, ``--threads`` (unless ``threads`` is None) and
    ``--out``."""
    parser.add_argument(
        '--repeats',
        type=int,
        default=repeats,
        help='interleaved repeats (median reported)')
    if threads is not None:
        parser.add_argument(
            '--threads',
            type=int,
            default=threads,
            help='torch threads (0: leave as is)')
    parser.add_argument('--out', help='write the results as JSON here')


def apply_run_args(args) -> None:
    """Quiet mmengine's model-building logs and set ``--threads``."""
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    if getattr(args, 'threads', 0):
        torch.set_num_threads(args.threads)


def interleaved_medians(
        methods: Dict[str, Callable],
        repeats: int,
        no_grad: bool = False) -> Tuple[Dict[str, float], Dict[str, object]]:
    """Run every method ``repeats`` times, interleaved; return the median
    seconds per method and each method's last output."""
    times = {name: [] for name in methods}
    outputs = {}
    for _ in range(repeats):
        for name, fn in methods.items():
            start_s = time.perf_counter()
            if no_grad:
                with torch.no_grad():
                    outputs[name] = fn()
            else:
                outputs[name] = fn()
            times[name].append(time.perf_counter() - start_s)
    return {k: statistics.median(v) for k, v in times.items()}, outputs


def write_json(path: Optional[str], result: dict) -> dict:
    """Write ``result`` to ``path`` as indented JSON (nothing when
    ``path`` is empty); return ``result``."""
    if path:
        with open(path, 'w') as f:
            json.dump(result, f, indent=2)
    return result


@functools.lru_cache(maxsize=None)
def cpu_autocast_supports(dtype) -> bool:
    """Whether ``torch.autocast('cpu', dtype=dtype)`` can be entered:
    torch 2.1 has CPU autocast for bfloat16 only, so the CPU stand-ins of
    fp16 ``--amp`` (``gpu_bench.py --device cpu``, tests) skip there; CUDA
    fp16 is not affected."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # torch 2.1 warns, then raises
        try:
            with torch.autocast('cpu', dtype=dtype):
                pass
        except RuntimeError:
            return False
    return True
