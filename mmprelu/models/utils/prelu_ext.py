"""Build and load the fused C++ PReLU kernel for CPU tensors.

``csrc/prelu_kernels.h`` holds one forward loop (Eq. 1, optionally in
place) and one backward loop that writes the input gradient and accumulates
the slope gradient of Eq. (2)-(3) in the same pass; ``csrc/prelu_cpu.cpp``
wraps them in a C++ autograd function (no Python runs in the backward).
This is what makes a PReLU-net's training step cost about what the ReLU
net's does on the CPU (see README, "Performance"); ``impl='fast'`` layers
use it.

Choices (the paper is about the maths, not kernels):

* compiled just in time with :func:`torch.utils.cpp_extension.load` on the
  first ``impl='fast'`` PReLU call that needs autograd on a CPU tensor
  (about 20 s on 2 cores, once), and cached under
  ``$TORCH_EXTENSIONS_DIR`` (default ``~/.cache/torch_extensions``) in a
  folder named after the torch version, the Python version and the torch
  installation (:func:`extension_name`), so a torch upgrade or another venv
  builds its own copy and a source change is noticed by torch's own hash. ``tools/setup_env.sh`` builds
  it at set-up; ``python -m mmprelu.models.utils.prelu_ext`` does it by hand
  and prints where it is. Several processes starting together (distributed
  training) wait for one build (torch's lock file).
* needs a C++17 compiler and ninja (the ``ninja`` wheel is a runtime
  requirement; a system ninja is used if found). If the build fails, one
  warning gives the reason and ``impl='fast'`` layers use the Python
  autograd function of :mod:`.prelu_function` instead (same numbers, a few
  per cent slower). ``impl='python'`` asks for that one directly and never
  builds anything.
* x86-64 code is compiled for three instruction sets (baseline, AVX2,
  AVX-512) and the loader picks the best the CPU has, so a cache shared by
  different machines stays valid.
"""
import hashlib
import logging
import os
import os.path as osp
import re
import shutil
import sys
import threading
import time
import warnings
from typing import Optional

import torch
from mmengine.logging import print_log

#: The C++ source.
SOURCE = osp.join(osp.dirname(osp.abspath(__file__)), 'csrc', 'prelu_cpu.cpp')
#: Compiler flags: optimise, vectorise the loops, OpenMP for at::parallel_for
#: (torch's own libgomp is the one loaded at run time).
CFLAGS = ['-O3', '-fopenmp']
LDFLAGS = ['-fopenmp']

_lock = threading.Lock()
_state = {'loaded': None, 'error': None, 'path': None}


def extension_name() -> str:
    """Folder and library name: one per torch version, Python version and
    torch installation (a short hash of its folder), so that venvs with
    different stacks, or the same stack, never rebuild each other's copy
    (the compile flags name the venv's own torch headers)."""
    version = re.sub(r'\W', '_', torch.__version__)
    where = hashlib.sha1(osp.dirname(torch.__file__).encode()).hexdigest()
    return (f'mmprelu_prelu_cpu_torch{version}'
            f'_cp{sys.version_info[0]}{sys.version_info[1]}_{where[:8]}')


def build_directory() -> str:
    """Where the library is built and cached."""
    root = os.environ.get('TORCH_EXTENSIONS_DIR') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
        'torch_extensions')
    return osp.join(root, 'mmprelu', extension_name())


def _registered() -> bool:
    try:
        torch.ops.mmprelu_cpu.prelu
    except (AttributeError, RuntimeError):
        return False
    return True


def _find_ninja():
    """Put the ``ninja`` wheel's binary on PATH if none is there (an
    un-activated venv has its ``bin`` off PATH)."""
    if shutil.which('ninja'):
        return
    try:
        import ninja
    except ImportError:
        return
    os.environ['PATH'] = ninja.BIN_DIR + os.pathsep + os.environ.get(
        'PATH', '')


def _build(verbose: bool) -> str:
    log = logging.getLogger('torch.utils.cpp_extension')
    level = log.level
    log.setLevel(logging.ERROR)  # "No CUDA runtime is found" is irrelevant
    try:
        from torch.utils import cpp_extension
    finally:
        log.setLevel(level)
    _find_ninja()
    folder = build_directory()
    os.makedirs(folder, exist_ok=True)
    name = extension_name()
    fresh = not any(f.endswith('.so') for f in os.listdir(folder))
    if fresh:
        print_log(f'mmprelu: compiling the fused PReLU CPU kernel into '
                  f'{folder} (first use with this torch, about 20 s)',
                  logger='current')
    start = time.perf_counter()
    cpp_extension.load(
        name=name, sources=[SOURCE], extra_cflags=CFLAGS,
        extra_ldflags=LDFLAGS, build_directory=folder,
        is_python_module=False, verbose=verbose)
    seconds = time.perf_counter() - start
    if fresh or seconds > 3:
        print_log(f'mmprelu: fused PReLU kernel built in '
                  f'{seconds:.0f} s', logger='current')
    return folder


def load_fused_prelu(verbose: bool = False) -> bool:
    """Build (if needed) and load the kernel once per process; ``True`` if
    ``torch.ops.mmprelu_cpu.prelu`` is usable. A failure warns once, with
    the compiler's reason, and later calls return ``False`` at once."""
    if _state['loaded'] is not None:
        return _state['loaded']
    with _lock:
        if _state['loaded'] is None:
            try:
                if not _registered():
                    _state['path'] = _build(verbose)
                _state['loaded'] = _registered()
                if not _state['loaded']:
                    raise RuntimeError('the library loaded but registered '
                                       'no mmprelu_cpu::prelu op')
            except Exception as err:  # compiler missing, build error, ...
                _state['loaded'] = False
                _state['error'] = f'{type(err).__name__}: {err}'
                warnings.warn(
                    f'mmprelu: could not build the fused PReLU CPU kernel '
                    f'({SOURCE}): {_state["error"][-2000:]}\nFalling back to '
                    f"impl='python' (same results, a few per cent slower). "
                    f"Set act_cfg=dict(type='PReLU', impl='python') or "
                    f'MMPRELU_PRELU_IMPL=python to skip the attempt.',
                    RuntimeWarning, stacklevel=3)
    return _state['loaded']


def fused_prelu_error() -> Optional[str]:
    """Why the kernel is not available (``None`` if it is or was not
    tried yet)."""
    return _state['error']


def main() -> int:
    ok = load_fused_prelu(verbose=False)
    if ok:
        print(f'mmprelu fused PReLU CPU kernel: ready '
              f'({_state["path"] or "already loaded"})')
        return 0
    print(f'mmprelu fused PReLU CPU kernel: NOT available: {_state["error"]}')
    return 1


if __name__ == '__main__':
    raise SystemExit(main())
