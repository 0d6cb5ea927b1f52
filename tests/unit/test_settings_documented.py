"""Every setting is documented, and nothing documented is missing from the settings: the
README's settings table and .env.example against the settings class, both ways."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.config import setting_names
from tests.e2e.cli_process import furikaeri

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"`(FURIKAERI_[A-Z0-9_]+)`")
ASSIGNMENT = re.compile(r"^#?\s*(FURIKAERI_[A-Z0-9_]+)=", re.MULTILINE)


def readme_table_names() -> list[str]:
    """The variables named in the first column of the README's settings table."""
    names = []
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if line.startswith("| `FURIKAERI_") and len(cells) > 2:
            names.extend(NAME.findall(cells[1]))
    return names


def env_example_names() -> list[str]:
    return ASSIGNMENT.findall((ROOT / ".env.example").read_text(encoding="utf-8"))


@pytest.mark.parametrize("documented", [readme_table_names, env_example_names])
def test_the_documentation_lists_every_setting_once_and_nothing_else(documented) -> None:  # type: ignore[no-untyped-def]
    names = documented()
    assert len(names) == len(set(names)), "a setting is listed twice"
    assert set(setting_names()) - set(names) == set(), "settings missing from the docs"
    assert set(names) - set(setting_names()) == set(), "documented, but not a setting"


def test_every_setting_in_env_example_has_a_comment_above() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if ASSIGNMENT.match(line):
            above = next(
                (prev for prev in reversed(lines[:number]) if not ASSIGNMENT.match(prev)), ""
            )
            assert above.startswith("# ") and len(above) > 10, f"no comment above {line}"


@pytest.mark.slow
def test_env_example_copied_to_env_is_a_working_configuration(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = furikaeri("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warning about any name in it
    assert (tmp_path / "furikaeri.db").exists()  # the documented default database
