"""bot/errors.py names the setting behind a broken prompts file, whichever path setting it
is, and leaves anything it does not know to the traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bot.config import Settings
from bot.errors import explain
from bot.prompts import PromptError


def test_a_file_inside_a_folder_setting_names_that_setting(tmp_path: Path) -> None:
    (tmp_path / "ours").mkdir()
    settings = Settings(prompts_dir=tmp_path / "ours", _env_file=None)  # type: ignore[call-arg]
    error = PromptError(str(tmp_path / "ours" / "topics.yaml"), "topics.3.label", "too long")
    line = explain(error, settings)
    assert line == f"FURIKAERI_PROMPTS_DIR: {tmp_path}/ours/topics.yaml: topics.3.label: too long"


def test_the_schedule_file_setting_is_named(tmp_path: Path) -> None:
    schedule = tmp_path / "schedule.yaml"
    settings = Settings(schedule_file=schedule, _env_file=None)  # type: ignore[call-arg]
    line = explain(PromptError(str(schedule), "expire_after", "required"), settings)
    assert line is not None and line.startswith("FURIKAERI_SCHEDULE_FILE: ")


def test_a_shipped_file_is_named_without_a_setting() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    line = explain(PromptError("prompts/reflection.yaml", "steps.0.id", "bad"), settings)
    assert line == "prompts: prompts/reflection.yaml: steps.0.id: bad"


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("a bug"),
        ConnectionRefusedError(111, "refused, but not by the database"),
        OperationalError("INSERT …", {}, Exception("database is locked")),
    ],
)
def test_anything_else_keeps_its_traceback(error: Exception) -> None:
    settings = Settings(database_url="postgresql://u@db/furikaeri", _env_file=None)  # type: ignore[call-arg]
    assert explain(error, settings) is None
    sqlite = Settings(_env_file=None)  # type: ignore[call-arg]
    assert explain(error, sqlite) is None
