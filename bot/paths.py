"""Where the shipped data directories are, in a source checkout and in an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the directory `prompts`, `locales` or `migrations`.

    In the wheel they are packed into `bot/_data/` (see pyproject.toml); in a checkout
    (and an editable install) they sit at the repository's top level.
    """
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"furikaeri data directory {name!r} not found near {_PACKAGE}")
