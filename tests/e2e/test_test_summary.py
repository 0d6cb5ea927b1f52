"""`make test` without PostgreSQL says once that the PostgreSQL half was left out and how
to run it, instead of a "skipped" line per test; other skips stay visible, and with
FURIKAERI_TEST_DATABASE_URL set (as .ci/run does) the PostgreSQL tests are all there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

SUITE = """
import pytest

def test_on_each_database(database_url):
    assert database_url

@pytest.mark.needs_postgresql
def test_only_on_postgresql():
    pass

def test_skipped_for_another_reason():
    pytest.skip("the other reason stays visible")
"""


def pytest_run(folder: Path, *args: str, pg_url: str = "") -> subprocess.CompletedProcess[str]:
    (folder / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    (folder / "test_suite.py").write_text(SUITE)
    env = {k: v for k, v in os.environ.items() if k != "FURIKAERI_TEST_DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    if pg_url:
        env["FURIKAERI_TEST_DATABASE_URL"] = pg_url
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-ra", "-p", "no:cacheprovider", *args, str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_postgresql_one_line_says_so_and_other_skips_stay(tmp_path: Path) -> None:
    result = pytest_run(tmp_path)
    assert result.returncode == 0, result.stdout
    out = result.stdout
    [line] = [line for line in out.splitlines() if "PostgreSQL" in line]
    assert line.startswith("PostgreSQL half skipped (2 tests)")
    assert "FURIKAERI_TEST_DATABASE_URL=postgresql+asyncpg://" in line and "make test" in line
    assert "SKIPPED [1]" in out and "the other reason stays visible" in out
    assert out.count("SKIPPED") == 1
    assert "1 passed, 1 skipped, 2 deselected" in out


def test_with_postgresql_configured_its_tests_are_collected(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    result = pytest_run(tmp_path, "--collect-only", "-q", pg_url=url)
    assert result.returncode == 0, result.stdout
    assert "test_on_each_database[postgresql]" in result.stdout
    assert "test_only_on_postgresql" in result.stdout
    assert "PostgreSQL half skipped" not in result.stdout
