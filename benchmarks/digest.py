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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.bootstrap import build
from bot.config import load_settings
from bot.db.migrate import upgrade
from handlers.digest.build import build_digest

STUDENTS = 300
ANSWERS = 30_000
ROUNDS = 5
SETS = ("reflection", "work_life", "inner_outer")
CHOICES = {"yesno": "yes", "topics": "visa"}


async def seed(app: Any) -> int:
    """One counselor, STUDENTS consented students, ANSWERS answers spread over a year."""
    prompts = app.engine.prompts
    start = datetime(2026, 1, 5, tzinfo=UTC)
    per_student = ANSWERS // STUDENTS
    async with app.db.uow() as uow:
        counselor = await uow.counselors.add(
            name="Sato", locale="ja", timezone="Asia/Tokyo", is_admin=False, now=start
        )
        ids = []
        for n in range(STUDENTS):
            student = await uow.students.add(
                counselor_id=counselor.id,
                label=f"学生{n:03d}",
                locale="vi",
                timezone="UTC",
                now=start,
            )
            student.consent = "given"
            ids.append(student.id)
        runs, plans = [], []
        for student_id in ids:
            given = 0
            k = 0
            while given < per_student:
                set_id = SETS[k % len(SETS)]
                steps = prompts.sets[set_id].steps
                questions = [step.pool[k % len(step.pool)].id for step in steps]
                asked = start + timedelta(days=k * 7, hours=student_id % 10)
                runs.append(
                    {
                        "student_id": student_id,
                        "set_id": set_id,
                        "questions": questions,
                        "step": len(questions),
                        "state": "done",
                        "due_at": asked,
                        "asked_at": asked,
                        "finished_at": asked + timedelta(hours=1),
                    }
                )
                plans.append((student_id, questions[: per_student - given], asked))
                given += min(len(questions), per_student - given)
                k += 1
        await uow.runs.add_many(runs)
        run_ids = await _run_ids(uow)
        answers = []
        for run_id, (student_id, questions, asked) in zip(run_ids, plans, strict=True):
            for i, question_id in enumerate(questions):
                kind = prompts.question(question_id).kind
                answers.append(
                    {
                        "run_id": run_id,
                        "student_id": student_id,
                        "question_id": question_id,
                        "text": None
                        if kind in ("scale", "yesno", "topics")
                        else f"Câu trả lời {i} của sinh viên {student_id}: tôi muốn thử phỏng vấn.",
                        "choice": "yes"
                        if kind == "yesno"
                        else ("visa" if kind == "topics" else None),
                        "scale": 1 + (run_id + i) % 5 if kind == "scale" else None,
                        "skipped": False,
                        "urgent": False,
                        "hidden": False,
                        "channel": "telegram",
                        "message_id": "",
                        "created_at": asked + timedelta(minutes=3 * i),
                    }
                )
        await uow.answers.add_many(answers)
        await uow.commit()
        return counselor.id


async def _run_ids(uow: Any) -> list[int]:
    """The ids of the runs just inserted, in insertion order."""
    runs = await uow.runs.of_students([s.id for s in await uow.students.list_for_counselor(1)])
    return [r.id for r in sorted(runs, key=lambda r: r.id)]


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
