"""Follow-ups to 1,000 students falling due at once, sent by real `furikaeri run` processes
through the real PTB to the fake Telegram, which enforces Telegram's flood limits (about 30
messages a second for the bot and one a second per chat, 429 with retry_after beyond).

Keys: fanout_vs_limit (messages per second the fake accepted, over Telegram's 30),
due_to_first_send_s, fanout_duplicates, fanout_lost, fanout_429_share; the same with
_two_processes (two processes on one PostgreSQL, when FURIKAERI_TEST_DATABASE_URL is set).
Each run is bounded in time; a run that does not finish reports what it reached.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from benchmarks.processes import (
    QUIET_SCHEDULE,
    postgresql_database,
    start_bot,
    stop_bot,
    wait_healthy,
)
from bot.db.engine import create_test_engine
from bot.db.migrate import upgrade
from bot.db.models import Run
from bot.db.uow import Database
from bot.prompts import load_prompts, pick_variant
from tests.fakes.server import LocalServer, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import seed_consented_students

STUDENTS = 1000
TELEGRAM_LIMIT = 30.0  # messages a second for one bot
TOKEN = "123456:BENCH-fanout-token"
SECRET = "bench-fanout-secret"
SLACK_SECONDS = 45  # beyond the time the limit itself needs, before a run is cut off


async def _seed(url: str, schedule: Path) -> int:
    """1,000 consented Telegram students, each with a reflection run planned an hour ahead.
    Returns how many messages the fan-out should deliver (intro and first question each)."""
    engine = create_test_engine(url)
    await upgrade(engine)
    db = Database(engine)
    now = datetime.now(UTC)
    chats = tuple(str(100_000 + n) for n in range(STUDENTS))
    _, students = await seed_consented_students(db, now, {"telegram": chats})
    prompts = load_prompts(schedule_file=schedule)
    questions = [pick_variant(step, []).id for step in prompts.sets["reflection"].steps]
    async with db.uow() as uow:
        for student_id in students.values():
            await uow.runs.add(
                student_id=student_id,
                session_id=None,
                set_id="reflection",
                questions=questions,
                due_at=now + timedelta(hours=1),
            )
        await uow.commit()
    await engine.dispose()
    return 2 * STUDENTS


async def _make_due(url: str) -> None:
    engine = create_test_engine(url)
    async with engine.begin() as conn:
        await conn.execute(update(Run).values(due_at=datetime.now(UTC)))
    await engine.dispose()


async def _fan_out(url: str, processes: int, tmp: Path) -> dict[str, float]:
    schedule = tmp / "schedule.yaml"
    schedule.write_text(QUIET_SCHEDULE, encoding="utf-8")
    expected = await _seed(url, schedule)
    fake = FakeTelegram(TOKEN)
    limits = fake.enforce_limits(per_bot=TELEGRAM_LIMIT, per_chat=1.0)
    with LocalServer(fake.app) as server:
        ports = [free_port() for _ in range(processes)]
        bots = [
            start_bot(
                {
                    "FURIKAERI_DATABASE_URL": url,
                    "FURIKAERI_SCHEDULE_FILE": str(schedule),
                    "FURIKAERI_DEFAULT_LOCALE": "en",
                    "FURIKAERI_HTTP_PORT": str(port),
                    "FURIKAERI_TELEGRAM_TOKEN": TOKEN,
                    "FURIKAERI_TELEGRAM_API_URL": f"{server.url}/bot",
                    "FURIKAERI_TELEGRAM_WEBHOOK_URL": "https://bench.example/webhook/telegram",
                    "FURIKAERI_TELEGRAM_WEBHOOK_SECRET": SECRET,
                },
                tmp / f"bot{n}.log",
            )
            for n, port in enumerate(ports)
        ]
        try:
            for bot, port in zip(bots, ports, strict=True):
                await asyncio.wait_for(wait_healthy(port, bot), timeout=90)
            await _make_due(url)
            due = time.monotonic()
            deadline = due + expected / TELEGRAM_LIMIT + SLACK_SECONDS
            while len(limits.accepted) < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # anything sent twice would arrive now
        finally:
            for bot in bots:
                stop_bot(bot)
    accepted = list(limits.accepted)
    delivered = Counter(
        (chat, message.get("text", ""))
        for chat in range(100_000, 100_000 + STUDENTS)
        for message in fake.sent_messages(chat)
    )
    sent = sum(delivered.values())
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else float("inf")
    return {
        "fanout_vs_limit": (len(accepted) - 1) / span / TELEGRAM_LIMIT if accepted else 0.0,
        "due_to_first_send_s": accepted[0] - due if accepted else float("inf"),
        "fanout_duplicates": float(sent - len(delivered)),
        "fanout_lost": float(max(0, expected - len(delivered))),
        "fanout_429_share": fake.throttled / max(1, sent),
        "fanout_seconds": accepted[-1] - due if accepted else float("inf"),
    }


def run() -> dict[str, float]:
    """One process on SQLite; two processes on PostgreSQL when it is configured."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.db'}"
        figures.update(asyncio.run(_fan_out(url, 1, Path(tmp))))
    with postgresql_database() as pg, tempfile.TemporaryDirectory() as tmp:
        if pg is not None:
            two = asyncio.run(_fan_out(pg, 2, Path(tmp)))
            figures.update({f"{key}_two_processes": value for key, value in two.items()})
    return figures
