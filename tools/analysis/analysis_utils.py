"""Helpers shared by the tools in ``tools/analysis/``: progress bars, the
markdown/JSON/PNG outputs and config loading.

The tools run as scripts (``python tools/analysis/TOOL.py ...``), so this
folder is on ``sys.path`` and they import this module by its plain name.
"""
import json
import os
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

os.environ.setdefault('MPLBACKEND', 'Agg')


def progress(iterable: Iterable, total: int = None, desc: str = ''):
    """``tqdm`` over ``iterable`` if installed, else mmengine's bar."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is installed in the venv
        from mmengine.utils import track_iter_progress
        items = list(iterable)
        return track_iter_progress(items)
    return tqdm(iterable, total=total, desc=desc, dynamic_ncols=True)


def markdown_table(header: Sequence[str], rows: List[Sequence]) -> str:
    """A GitHub markdown table; floats are written with 4 significant
    digits."""

    def fmt(value):
        if isinstance(value, float):
            return f'{value:.4g}'
        return str(value)

    lines = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '|'.join('---' for _ in header) + '|'
    ]
    lines += ['| ' + ' | '.join(fmt(v) for v in row) + ' |' for row in rows]
    return '\n'.join(lines) + '\n'


def write_outputs(out_dir,
                  stem: str,
                  markdown: str = None,
                  data: Dict = None,
                  indent: int = 2) -> List[Path]:
    """Write ``STEM.md`` and ``STEM.json`` under ``out_dir`` (created);
    return the paths written. ``indent=None`` writes one-line JSON (for
    long per-iteration logs)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if markdown is not None:
        (out / f'{stem}.md').write_text(markdown)
        written.append(out / f'{stem}.md')
    if data is not None:
        (out / f'{stem}.json').write_text(json.dumps(data, indent=indent))
        written.append(out / f'{stem}.json')
    return written


def pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, out_dir, stem: str, dpi: int = 90) -> Path:
    """Save ``fig`` as ``STEM.png`` (small: the PNGs are committed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f'{stem}.png'
    fig.savefig(path, dpi=dpi, bbox_inches='tight')
    pyplot().close(fig)
    return path


def load_config(path, cfg_options: dict = None):
    """Load an mmprelu config (which imports mmprelu) under mmpretrain's
    scope, with optional ``--cfg-options`` merged in."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    if not Path(path).is_file():
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(str(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    import mmprelu  # noqa: F401 (registers our modules)
    return cfg


def set_threads(num: int = 1) -> None:
    """Limit torch to ``num`` CPU threads (the machines are shared)."""
    import torch
    torch.set_num_threads(max(1, int(num)))
