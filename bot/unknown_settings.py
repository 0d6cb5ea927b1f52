"""Warn about FURIKAERI_* variables that are not settings: a typo must not pass silently.

`FURIKAERI_DATABSE_URL=postgresql://…` would otherwise be ignored and the bot would run on
a local SQLite file; the warning names the closest real setting.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from dotenv import dotenv_values

PREFIX = "FURIKAERI_"
# The test suite's own variables (FURIKAERI_TEST_DATABASE_URL) share the prefix.
IGNORED_PREFIXES = ("FURIKAERI_TEST_",)


def unknown_variable_warnings(
    known: list[str],
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
) -> list[str]:
    """One line per FURIKAERI_* name in the environment or the .env file that is not one of
    the `known` settings."""
    found: dict[str, tuple[str, str]] = {}  # upper-cased name -> (as written, where)
    environ = os.environ if environ is None else environ
    for name in environ:
        found.setdefault(name.upper(), (name, "environment"))
    if env_file is not None and env_file.is_file():
        for name in dotenv_values(env_file):
            found.setdefault(name.upper(), (name, str(env_file)))
    return [
        _warning(written, upper, where, known)
        for upper, (written, where) in sorted(found.items())
        if _is_unknown(upper, known)
    ]


def _is_unknown(name: str, known: Iterable[str]) -> bool:
    # Settings are read case-insensitively, as pydantic-settings does.
    return name.startswith(PREFIX) and not name.startswith(IGNORED_PREFIXES) and name not in known


def _warning(written: str, name: str, where: str, known: list[str]) -> str:
    source = "" if where == "environment" else f" (in {where})"
    # Compare without the shared prefix, which would make every name look alike.
    suffixes = {k.removeprefix(PREFIX): k for k in known}
    close = difflib.get_close_matches(name.removeprefix(PREFIX), suffixes, n=1, cutoff=0.6)
    hint = (
        f"did you mean {suffixes[close[0]]}?" if close else "see the settings table in the README"
    )
    return f"{written}{source} is not a setting and is ignored; {hint}"
