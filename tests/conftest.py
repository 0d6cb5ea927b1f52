"""Shared fixtures: a real database (SQLite always, PostgreSQL when configured) and the app."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.i18n import set_strict

# Fake Telegram and LINE servers and running apps for the tests that talk HTTP.
pytest_plugins = ["tests.e2e.fixtures", "tests.logcheck", "tests.fakes.translation_fixtures"]

PG_URL = os.environ.get("FURIKAERI_TEST_DATABASE_URL", "")


def pytest_configure(config: pytest.Config) -> None:
    set_strict(True)  # a missing translation fails the test that shows it
    config.addinivalue_line(
        "markers", "needs_postgresql: runs only when FURIKAERI_TEST_DATABASE_URL is set"
    )


_POSTGRES_LEFT_OUT = pytest.StashKey[int]()


def _needs_postgresql(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    on_postgres = callspec is not None and callspec.params.get("database_url") == "postgresql"
    return on_postgres or item.get_closest_marker("needs_postgresql") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without FURIKAERI_TEST_DATABASE_URL, leave out the PostgreSQL half as a whole: one
    line in the summary instead of a "skipped" line per test, so other skips stay visible."""
    if PG_URL:
        return
    left_out = [item for item in items if _needs_postgresql(item)]
    if left_out:
        items[:] = [item for item in items if not _needs_postgresql(item)]
        config.hook.pytest_deselected(items=left_out)
    config.stash[_POSTGRES_LEFT_OUT] = len(left_out)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    left_out = terminalreporter.config.stash.get(_POSTGRES_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(
            f"PostgreSQL half skipped ({left_out} test{'s' * (left_out != 1)}): "
            "FURIKAERI_TEST_DATABASE_URL is not "
            "set. To run it: FURIKAERI_TEST_DATABASE_URL="
            "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres make test",
            yellow=True,
        )


def _pg_async(url: str) -> str:
    return "postgresql+asyncpg://" + url.split("://", 1)[1] if "://" in url else url


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new schema on the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not PG_URL:
        pytest.skip("FURIKAERI_TEST_DATABASE_URL is not set")
    yield from _pg_database(_pg_async(PG_URL))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


def _pg_database(url: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    import asyncio

    name = f"furikaeri_t_{uuid.uuid4().hex[:12]}"
    base, _, _ = url.rpartition("/")

    async def run(sql: str) -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield f"{base}/{name}"
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[object]:
    from tests.harness import Harness

    h = await Harness.create(database_url)
    try:
        yield h
    finally:
        await h.close()
