"""An admin's everyday mistakes end every command with one line naming the variable, exit 2:
a database that cannot be opened, a schedule file that does not load; and a misspelled
FURIKAERI_* variable is pointed out instead of silently ignored."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.e2e.cli_process import furikaeri, stderr_lines
from tests.e2e.world import TG_TOKEN
from tests.fakes.server import free_port

pytestmark = pytest.mark.slow

PG_URL = os.environ.get("FURIKAERI_TEST_DATABASE_URL", "")

# Every command that opens the database; `run` has a channel so that it gets that far.
COMMANDS = {
    "db upgrade": ["db", "upgrade"],
    "counselor add": ["counselor", "add", "Sato", "--locale", "en"],
    "students": ["students", "--counselor", "1"],
    "outbox": ["outbox"],
    "run": ["run"],
}


def run_env(url: str) -> dict[str, str]:
    # A token that is never used: the database is opened before any channel starts.
    return {"FURIKAERI_DATABASE_URL": url, "FURIKAERI_TELEGRAM_TOKEN": TG_TOKEN}


def assert_one_line(result: object, *expected: str) -> str:
    lines = stderr_lines(result)  # type: ignore[arg-type]
    assert result.returncode == 2, result.stderr  # type: ignore[attr-defined]
    assert len(lines) == 1, lines
    for part in expected:
        assert part in lines[0], (part, lines[0])
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_sqlite_file_in_a_missing_folder(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "no-such-folder"
    url = f"sqlite+aiosqlite:///{missing / 'furikaeri.db'}"
    result = furikaeri(*COMMANDS[command], env=run_env(url), cwd=tmp_path)
    assert_one_line(result, "FURIKAERI_DATABASE_URL", str(missing), "does not exist")
    assert not missing.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_postgresql_not_running(tmp_path: Path, command: str) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+asyncpg://furikaeri:s3cret-pw@127.0.0.1:{port}/furikaeri"
    result = furikaeri(*COMMANDS[command], env=run_env(url), cwd=tmp_path)
    line = assert_one_line(result, "FURIKAERI_DATABASE_URL", f"127.0.0.1:{port}", "refused")
    assert "s3cret-pw" not in line


def test_an_unknown_database_host(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://furikaeri@db.invalid/furikaeri"
    result = furikaeri("db", "upgrade", env=run_env(url), cwd=tmp_path)
    assert_one_line(result, "FURIKAERI_DATABASE_URL", "'db.invalid' is not known")


@pytest.mark.needs_postgresql
@pytest.mark.parametrize("command", ["db upgrade", "counselor add", "run"])
def test_a_database_that_does_not_exist(tmp_path: Path, command: str) -> None:
    base = "postgresql+asyncpg://" + PG_URL.split("://", 1)[1].rpartition("/")[0]
    name = f"furikaeri_missing_{uuid.uuid4().hex[:8]}"
    result = furikaeri(*COMMANDS[command], env=run_env(f"{base}/{name}"), cwd=tmp_path)
    assert_one_line(result, "FURIKAERI_DATABASE_URL", f"'{name}' does not exist", "createdb")


SCHEDULE = """\
reflection_delay: PT0S
followups: []
send_window: null
reminder_after: PT24H
expire_after: P7D
"""


BAD_SCHEDULES = {
    "missing file": (None, "my-schedule.yaml: file not found"),
    "invalid YAML": ("reflection_delay: [PT0S\n", "my-schedule.yaml: not valid YAML at line 2"),
    "missing key": (
        SCHEDULE.replace("expire_after: P7D\n", ""),
        "my-schedule.yaml: expire_after: required",
    ),
    "bad value": (
        SCHEDULE.replace("P7D", "7 days"),
        "my-schedule.yaml: expire_after: '7 days' is not an ISO 8601 duration",
    ),
}


@pytest.mark.parametrize(
    ("command", "case"),
    [("db upgrade", case) for case in BAD_SCHEDULES]
    + [(command, "missing key") for command in ("counselor add", "run", "demo")],
)
def test_a_bad_schedule_file(tmp_path: Path, command: str, case: str) -> None:
    content, expected = BAD_SCHEDULES[case]
    schedule = tmp_path / "my-schedule.yaml"
    if content is not None:
        schedule.write_text(content, encoding="utf-8")
    env = {
        **run_env(f"sqlite+aiosqlite:///{tmp_path / 'furikaeri.db'}"),
        "FURIKAERI_SCHEDULE_FILE": str(schedule),
    }
    args = ["demo"] if command == "demo" else COMMANDS[command]
    result = furikaeri(*args, env=env, cwd=tmp_path)
    assert_one_line(result, "FURIKAERI_SCHEDULE_FILE: ", expected)


def test_the_same_schedule_file_when_correct_is_accepted(tmp_path: Path) -> None:
    """The file the failing cases break is a valid one (so they fail for their reason)."""
    schedule = tmp_path / "my-schedule.yaml"
    schedule.write_text(SCHEDULE, encoding="utf-8")
    env = {
        "FURIKAERI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'furikaeri.db'}",
        "FURIKAERI_SCHEDULE_FILE": str(schedule),
    }
    result = furikaeri("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_misspelled_variable_is_named_with_the_closest_setting(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "FURIKAERI_TIME_ZONE=Asia/Tokyo\nFURIKAERI_DEFAULT_LOCALE=en\nOTHER_TOOL=1\n",
        encoding="utf-8",
    )
    env = {
        "FURIKAERI_DATABSE_URL": "postgresql://furikaeri@db.example/furikaeri",
        "FURIKAERI_TEST_DATABASE_URL": "the test suite's own, not a setting typo",
    }
    result = furikaeri("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # a warning, not a stop
    warnings = [line for line in stderr_lines(result) if "warning" in line]
    assert len(warnings) == 2, result.stderr
    assert any(
        "FURIKAERI_DATABSE_URL" in w and "did you mean FURIKAERI_DATABASE_URL?" in w
        for w in warnings
    )
    assert any(
        "FURIKAERI_TIME_ZONE (in .env)" in w and "did you mean FURIKAERI_TIMEZONE?" in w
        for w in warnings
    )
    assert (tmp_path / "furikaeri.db").exists()  # what the typo silently meant: the default
