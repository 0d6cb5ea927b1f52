"""How fast the engine handles answers and the outbox sends them.

Measures; asserts nothing. Runs on a temporary SQLite database (and PostgreSQL too
when FURIKAERI_TEST_DATABASE_URL is set), with a channel that only counts.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from tests.harness import Harness

STUDENTS = 20
ANSWERS_EACH = 4


async def bench(url: str) -> dict[str, float]:
    harness = await Harness.create(url)
    try:
        counselor = await harness.counselor()
        ids = [await harness.student(counselor, f"s{n}") for n in range(STUDENTS)]
        started = time.perf_counter()
        for student_id in ids:
            await harness.session(counselor, student_id, "visa,interview")
        sessions = time.perf_counter() - started

        latencies = []
        started = time.perf_counter()
        for round_ in range(ANSWERS_EACH):
            for n in range(STUDENTS):
                t0 = time.perf_counter()
                await harness.say(f"s{n}", f"answer {round_} from student {n}")
                latencies.append(time.perf_counter() - t0)
        answering = time.perf_counter() - started

        # Concurrent arrivals: every student answers at once.
        started = time.perf_counter()
        for n in range(STUDENTS):
            await harness.engine.receive(harness.event(f"s{n}", "concurrent answer"))
        await harness.engine.drain()
        burst = time.perf_counter() - started
        total_answers = STUDENTS * ANSWERS_EACH
        return {
            "sessions_per_s": STUDENTS / sessions,
            "answers_one_at_a_time_per_s": total_answers / answering,
            "answer_round_trip_p50_ms": statistics.median(latencies) * 1000,
            "answer_round_trip_p95_ms": statistics.quantiles(latencies, n=20)[18] * 1000,
            "burst_answers_per_s": STUDENTS / burst,
        }
    finally:
        await harness.close()


def run() -> dict[str, float]:
    """The figures on SQLite, and on PostgreSQL too when FURIKAERI_TEST_DATABASE_URL is set."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"}
        if os.environ.get("FURIKAERI_TEST_DATABASE_URL"):
            targets["postgresql"] = os.environ["FURIKAERI_TEST_DATABASE_URL"]
        for name, url in targets.items():
            if name == "postgresql":
                from tests.conftest import _pg_async, _pg_database

                databases = _pg_database(_pg_async(url))
                url = next(databases)
            results = asyncio.run(bench(url))
            figures.update({f"engine_{key}_{name}": value for key, value in results.items()})
            if name == "postgresql":
                next(databases, None)
    return figures
