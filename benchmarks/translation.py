"""Machine translation in the background: how fast queued answers are translated against the
fake LibreTranslate (real HTTP on 127.0.0.1), and whether a student's answer is any slower
with a translator on than off (measured in the same run, the translation job ticking
alongside the answers as the scheduler would run it).

Measures; asserts nothing. Runs on temporary SQLite databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.fakes.libretranslate_api import FakeLibreTranslate
from tests.fakes.server import LocalServer
from tests.harness import Harness

STUDENTS = 20
ANSWERS_EACH = 4  # text answers per student, in the reflection set's text questions
BACKLOG = 400  # answers queued before the translation job runs
# The job ticks every 15 s in production (bot/scheduling/jobs.py); far more often here, so
# that translating runs while students answer and any contention shows.
TICK_SECONDS = 0.5


async def _seed(harness: Harness, students: int) -> tuple[Any, list[int]]:
    counselor = await harness.counselor(locale="ja")
    ids = [await harness.student(counselor, f"s{n}", locale="vi") for n in range(students)]
    return counselor, ids


async def answer_latencies(
    off_url: str, on_url: str, translator: dict[str, Any]
) -> tuple[list[float], list[float]]:
    """Seconds per answer (received to replied) without and with a translator: two bots
    in one process, answers alternating between them so both see the same machine load."""
    off = await Harness.create(off_url, _env_file=None)
    on = await Harness.create(on_url, _env_file=None, **translator)
    ticking = asyncio.create_task(_tick_forever(on))
    try:
        for harness in (off, on):
            counselor, ids = await _seed(harness, STUDENTS)
            for student_id in ids:
                await harness.session(counselor, student_id, "visa,interview")
        latencies: dict[int, list[float]] = {id(off): [], id(on): []}
        for round_ in range(ANSWERS_EACH):
            for n in range(STUDENTS):
                pair = (off, on) if n % 2 == 0 else (on, off)
                for harness in pair:
                    started = time.perf_counter()
                    await harness.say(f"s{n}", f"Câu trả lời {round_} của sinh viên {n}.")
                    latencies[id(harness)].append(time.perf_counter() - started)
        return latencies[id(off)], latencies[id(on)]
    finally:
        ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticking
        await off.close()
        await on.close()


async def _tick_forever(harness: Harness) -> None:
    assert harness.app.translations is not None
    while True:
        await harness.app.translations.tick()
        await asyncio.sleep(TICK_SECONDS)


async def translation_throughput(url: str, translator: dict[str, Any]) -> float:
    """Queued answers translated per second by the background job."""
    harness = await Harness.create(url, _env_file=None, **translator)
    try:
        counselor, ids = await _seed(harness, BACKLOG // ANSWERS_EACH)
        for student_id in ids:
            await harness.session(counselor, student_id, "visa,interview")
        for round_ in range(ANSWERS_EACH):
            for n in range(len(ids)):
                await harness.say(f"s{n}", f"Tôi đã học được điều {round_} hôm nay, bạn {n}.")
        assert harness.app.translations is not None
        started = time.perf_counter()
        done = await harness.app.translations.tick()
        return done / (time.perf_counter() - started)
    finally:
        await harness.close()


def run() -> dict[str, float]:
    fake = FakeLibreTranslate()
    with LocalServer(fake.app) as server, tempfile.TemporaryDirectory() as tmp:
        on = {"translator": "libretranslate", "libretranslate_url": server.url}

        def url(name: str) -> str:
            return f"sqlite+aiosqlite:///{Path(tmp) / name}.db"

        rate = asyncio.run(translation_throughput(url("throughput"), on))
        off_times, on_times = asyncio.run(answer_latencies(url("off"), url("on"), on))
        off_median = statistics.median(off_times)
        on_median = statistics.median(on_times)
        return {
            "translations_per_s": rate,
            "answer_p50_ms_translation_off": off_median * 1000,
            "answer_p50_ms_translation_on": on_median * 1000,
            "answer_path_ratio_translation_on": on_median / off_median,
        }
