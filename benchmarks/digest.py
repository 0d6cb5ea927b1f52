"""How fast the counselor's digest is built, against a plain SELECT of the same answers.

300 students, 30,000 answers over a year, seeded with bulk inserts through the
repositories. `digest_vs_select` is build_digest's time over the time of fetching every
answer row of that counselor (same run, same database); `digest_seconds` the build alone;
`digest_queries` the statements one build sends (a fixed number, whatever the students).
Measures; asserts nothing. SQLite always, PostgreSQL too when FURIKAERI_TEST_DATABASE_URL
is set (keys ending in `_postgresql`).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.bootstrap import build
from bot.config import load_settings
from bot.db.migrate import upgrade
from bot.runner import freeze_startup_objects
from handlers.digest.build import build_digest
from tests.seed import seed_history

STUDENTS = 300
ANSWERS = 30_000
ROUNDS = 5


async def seed(app: Any) -> int:
    return await seed_history(
        app.db, app.engine.prompts, students=STUDENTS, answers_each=ANSWERS // STUDENTS
    )


async def _timed(work: Callable[[], Awaitable[Any]]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def bench(url: str) -> dict[str, float]:
    app = build(load_settings(database_url=url, _env_file=None), channels={})
    try:
        await upgrade(app.db.engine)
        counselor_id = await seed(app)
        freeze_startup_objects()  # as `furikaeri run` does once it has started
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        async with app.db.uow() as uow:
            counselor = await uow.counselors.get(counselor_id)
            assert counselor is not None
            assert await uow.digest.plain_answer_rows(counselor_id) == ANSWERS

            async def select_rows() -> None:
                await uow.digest.plain_answer_rows(counselor_id)

            async def digest() -> None:
                built = await build_digest(app.engine.context(uow), counselor, since=None)
                assert len(built.students) == STUDENTS

            await digest()  # warm the translation caches once
            plain = await _timed(select_rows)
            built = await _timed(digest)
            event.listen(app.db.engine.sync_engine, "before_cursor_execute", count)
            await digest()
            event.remove(app.db.engine.sync_engine, "before_cursor_execute", count)
        return {
            "digest_vs_select": built / plain,
            "digest_seconds": built,
            "digest_select_seconds": plain,
            "digest_queries": float(statements),
        }
    finally:
        await app.db.dispose()


def run() -> dict[str, float]:
    """The figures on SQLite, and on PostgreSQL too when FURIKAERI_TEST_DATABASE_URL is set."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        figures.update(asyncio.run(bench(f"sqlite+aiosqlite:///{Path(tmp) / 'digest.db'}")))
    if os.environ.get("FURIKAERI_TEST_DATABASE_URL"):
        from tests.conftest import _pg_async, _pg_database

        databases = _pg_database(_pg_async(os.environ["FURIKAERI_TEST_DATABASE_URL"]))
        url = next(databases)
        try:
            results = asyncio.run(bench(url))
        finally:
            next(databases, None)
        figures.update({f"{key}_postgresql": value for key, value in results.items()})
    return figures
