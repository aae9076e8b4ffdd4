"""Version of mmprelu."""
__version__ = '0.1.0'


def _parse(version: str) -> tuple:
    return tuple(int(p) for p in version.split('.')[:3] if p.isdigit())


version_info = _parse(__version__)
