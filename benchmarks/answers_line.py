"""Answers end to end on LINE: 50 students answer one question at a time, each waiting for
the next question before answering it. Signed webhooks go to a real `furikaeri run` on
SQLite; the replies go through the real line-bot-sdk to the fake LINE API. The push limit
stays at its default (10 a second): replies are free and must not wait for it. Measured
once the bot has started, with the bot on a CPU of its own and the students and the fake
LINE API on the other(s) (benchmarks/cpus.py). In alternating runs: 107–137 answers a
second (saturated p95 1.1 s: the first answers waited for the SDK import) while it still
started; 115–134 once started, sharing the CPUs; 140–153 started and placed apart.

Two phases, on the same running bot:
- saturated: every student answers the moment the next question arrives. How many answers
  a second the bot keeps up with: answers_per_s (and answer_p95_ms_saturated, which is
  only the queue of 50 students: with no pause, latency is 50 / answers_per_s).
- paced: the same students answer at 100 answers a second in all (the goal's rate), each
  again only after their next question arrived. The latency a student sees at that load:
  answer_p50_ms and answer_p95_ms (webhook sent -> the answer's reply accepted by LINE).

Also: answers_duplicated (deliveries beyond one per answer: a reply that also went out as
a push, or twice); answers_pushed_share (answers whose reply became a push).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from benchmarks.cpus import generator_apart, place
from benchmarks.processes import (
    QUIET_SCHEDULE,
    SETTLE_SECONDS,
    start_bot,
    stop_bot,
    wait_healthy,
)
from bot.db.engine import create_test_engine
from bot.db.migrate import upgrade
from bot.db.uow import Database
from bot.prompts import load_prompts
from tests.fakes.line_api import LineApiFake, line_event_text, signed_body
from tests.fakes.server import LocalServer, free_port
from tests.harness import seed_consented_students

STUDENTS = 50
ANSWERS = 12  # each, per phase; the last one of the paced phase closes the question set
PACED_RATE = 100.0  # answers a second, all students together, in the paced phase
SECRET = "bench-answers-line-secret"
TOKEN = "bench-answers-line-token"
DEADLINE = 120.0  # seconds for the whole run, before it is cut off


def _user(n: int) -> str:
    return f"U{n:032x}"


async def _seed(url: str, schedule: Path) -> None:
    """Consented LINE students, each with an open question set of ANSWERS text questions."""
    engine = create_test_engine(url)
    await upgrade(engine)
    db = Database(engine)
    now = datetime.now(UTC)
    chats = tuple(_user(n) for n in range(STUDENTS))
    _, students = await seed_consented_students(db, now, {"line": chats})
    prompts = load_prompts(schedule_file=schedule)
    texts = [
        question.id
        for question_set in prompts.sets.values()
        for step in question_set.steps
        for question in step.pool
        if step.kind == "text"
    ]
    questions = [texts[i % len(texts)] for i in range(2 * ANSWERS)]
    async with db.uow() as uow:
        for student_id in students.values():
            run = await uow.runs.add(
                student_id=student_id,
                session_id=None,
                set_id="reflection",
                questions=questions,
                due_at=now,
            )
            run.state, run.asked_at = "active", now
        await uow.commit()
    await engine.dispose()


class Arrivals:
    """Deliveries the fake accepted, per chat, with the moment each arrived."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.times: dict[str, list[float]] = {}
        self.via: Counter[str] = Counter()
        self.changed = asyncio.Event()

    def record(self, chat: str, via: str) -> None:  # the fake's thread
        at = time.perf_counter()
        self.loop.call_soon_threadsafe(self._add, chat, via, at)

    def _add(self, chat: str, via: str, at: float) -> None:
        self.times.setdefault(chat, []).append(at)
        self.via[via] += 1
        self.changed.set()

    async def after(self, chat: str, count: int) -> float:
        """When the chat's delivery number `count + 1` arrived (waiting for it)."""
        while len(self.times.get(chat, [])) <= count:
            self.changed.clear()
            await self.changed.wait()
        return self.times[chat][count]


async def _student(
    n: int,
    url: str,
    fake: LineApiFake,
    arrivals: Arrivals,
    http: aiohttp.ClientSession,
    *,
    first: int,
    every: float,
) -> list[float]:
    """Answers number first .. first + ANSWERS - 1; each one `every` seconds after the
    previous one at the earliest (0: as soon as its question arrived)."""
    user, latencies = _user(n), []
    next_at = time.perf_counter() + every * n / STUDENTS  # spread the students' starts
    for i in range(first, first + ANSWERS):
        if (wait := next_at - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        token = fake.issue_reply_token(user)
        event = line_event_text(user, f"Answer {i} from student {n}.", reply_token=token)
        body, headers = signed_body([event], SECRET)
        sent = time.perf_counter()
        next_at = sent + every
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"webhook answered {response.status}")
        latencies.append(await arrivals.after(user, i) - sent)
    return latencies


async def _phase(
    webhook: str, fake: LineApiFake, arrivals: Arrivals, *, first: int, every: float
) -> tuple[list[float], float]:
    """Every student's latencies, sorted, and the phase's length in seconds."""
    connector = aiohttp.TCPConnector(limit=STUDENTS)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        per_student = await asyncio.wait_for(
            asyncio.gather(
                *(
                    _student(n, webhook, fake, arrivals, http, first=first, every=every)
                    for n in range(STUDENTS)
                )
            ),
            timeout=DEADLINE,
        )
        elapsed = time.perf_counter() - started
    return sorted(t for student in per_student for t in student), elapsed


def _p95(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=20)[18] * 1000


async def _measure(tmp: Path) -> dict[str, float]:
    url = f"sqlite+aiosqlite:///{tmp / 'answers.db'}"
    schedule = tmp / "schedule.yaml"
    schedule.write_text(QUIET_SCHEDULE, encoding="utf-8")
    await _seed(url, schedule)
    fake = LineApiFake(access_token=TOKEN)
    for n in range(STUDENTS):
        fake.set_profile(_user(n), f"Student {n}", "en")
    arrivals = Arrivals(asyncio.get_running_loop())
    fake.on_delivery = arrivals.record
    with generator_apart() as bot_cpu, LocalServer(fake.app) as server:
        port = free_port()
        bot = start_bot(
            {
                "FURIKAERI_DATABASE_URL": url,
                "FURIKAERI_SCHEDULE_FILE": str(schedule),
                "FURIKAERI_DEFAULT_LOCALE": "en",
                "FURIKAERI_HTTP_PORT": str(port),
                "FURIKAERI_LINE_CHANNEL_SECRET": SECRET,
                "FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
                "FURIKAERI_LINE_API_URL": server.url,
            },
            tmp / "bot.log",
        )
        try:
            await asyncio.wait_for(wait_healthy(port, bot), timeout=90)
            await asyncio.sleep(SETTLE_SECONDS)
            place(bot.pid, bot_cpu)
            webhook = f"http://127.0.0.1:{port}/webhook/line"
            saturated, elapsed = await _phase(webhook, fake, arrivals, first=0, every=0.0)
            paced, _ = await _phase(
                webhook, fake, arrivals, first=ANSWERS, every=STUDENTS / PACED_RATE
            )
            await asyncio.sleep(2)  # a reply that also goes out as a push would arrive now
        finally:
            stop_bot(bot)
    answers = STUDENTS * ANSWERS
    delivered = sum(len(times) for times in arrivals.times.values())
    return {
        "answers_per_s": answers / elapsed,
        "answer_p95_ms_saturated": _p95(saturated),
        "answer_p50_ms": statistics.median(paced) * 1000,
        "answer_p95_ms": _p95(paced),
        "answers_duplicated": float(delivered - 2 * answers),
        "answers_pushed_share": arrivals.via["push"] / (2 * answers),
    }


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_measure(Path(tmp)))
