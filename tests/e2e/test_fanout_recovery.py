"""Many follow-ups due at once, started by a real furikaeri process (tests/e2e/bot_process.py)
on SQLite and PostgreSQL: killed with SIGKILL in the middle of starting them, then started
again, every student gets the follow-up once. And the scheduler starts a follow-up within
seconds of its due time, not at its next minute."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.bootstrap import App, build
from bot.config import load_settings
from bot.db.migrate import upgrade
from bot.db.models import Run
from bot.prompts import pick_variant
from handlers import admin
from tests.e2e.test_crash_recovery import ROOT, BotProcess, Watched, until
from tests.fakes.line_api import LineApiFake
from tests.fakes.server import LocalServer
from tests.harness import seed_consented_students

pytestmark = pytest.mark.slow

LINE_TOKEN = "e2e-fanout-token"
STUDENTS = 200
QUIET = """
reflection_delay: {delay}
followups: []
send_window: null
reminder_after: null
expire_after: P7D
digest_push: null
"""


@pytest.fixture
def line() -> Iterator[tuple[LineApiFake, Watched, str]]:
    fake = LineApiFake(access_token=LINE_TOKEN)
    watched = Watched(fake.app)
    with LocalServer(watched) as server:
        yield fake, watched, server.url


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    """The test's own view of the database (no channels, like the CLI)."""
    built = build(load_settings(database_url=database_url, default_locale="en"), channels={})
    await upgrade(built.db.engine)
    try:
        yield built
    finally:
        await built.db.dispose()


def environment(database_url: str, line_url: str, schedule: Path, tick: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FURIKAERI_")}
    env.update(
        PYTHONPATH=str(ROOT),
        FURIKAERI_DATABASE_URL=database_url,
        FURIKAERI_SCHEDULE_FILE=str(schedule),
        FURIKAERI_DEFAULT_LOCALE="en",
        FURIKAERI_LOG_LEVEL="WARNING",
        FURIKAERI_LINE_CHANNEL_SECRET="e2e-fanout-secret",
        FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN=LINE_TOKEN,
        FURIKAERI_LINE_API_URL=line_url,
        FURIKAERI_LINE_MESSAGES_PER_SECOND="100",
        E2E_LEASE_SECONDS="1",
        E2E_TICK_SECONDS=tick,
    )
    return env


def schedule_file(tmp_path: Path, delay: str) -> Path:
    path = tmp_path / "schedule.yaml"
    path.write_text(QUIET.format(delay=delay), encoding="utf-8")
    return path


async def run_states(app: App) -> dict[str, int]:
    async with app.db.uow() as uow:
        rows = await uow.session.execute(select(Run.state, func.count()).group_by(Run.state))
        return {state: int(n) for state, n in rows.all()}


async def test_killed_while_starting_many_follow_ups_each_student_gets_one(
    app: App,
    database_url: str,
    tmp_path: Path,
    line: tuple[LineApiFake, Watched, str],
) -> None:
    fake, watched, line_url = line
    chats = tuple(f"U{n:032x}" for n in range(STUDENTS))
    now = app.engine.clock.now()
    _, students = await seed_consented_students(app.db, now, {"line": chats})
    steps = app.engine.prompts.sets["reflection"].steps
    async with app.db.uow() as uow:
        for student_id in students.values():
            await uow.runs.add(
                student_id=student_id,
                session_id=None,
                set_id="reflection",
                questions=[pick_variant(step, []).id for step in steps],
                due_at=now + timedelta(hours=1),
            )
        await uow.commit()
    env = environment(database_url, line_url, schedule_file(tmp_path, "PT1H"), "0.1")
    bot = BotProcess(env, tmp_path, "bot")
    try:
        bot.start()
        await until(lambda: bot.said("ready"))
        async with app.db.uow() as uow:  # all due now
            await uow.session.execute(update(Run).values(due_at=app.engine.clock.now()))
            await uow.commit()

        async def half_started() -> bool:
            states = await run_states(app)
            return 0 < states.get("active", 0) < STUDENTS

        await until(half_started)  # some batches committed, some not started yet
        bot.kill()
        await until(lambda: watched.open == 0)  # what was in flight is answered

        bot.start()
        intro = app.engine.prompts.sets["reflection"].intro
        await until(lambda: all(any(m.text == intro for m in fake.all_messages(c)) for c in chats))
        await until(lambda: watched.open == 0)
        bot.terminate()
    finally:
        bot.ensure_dead()
    assert await run_states(app) == {"active": STUDENTS}
    for chat in chats:
        texts = [m.text for m in fake.all_messages(chat)]
        assert texts.count(intro) == 1, chat  # nothing twice (a repeated push is refused)
        assert len(texts) == 2, texts  # the intro and the first question, nothing lost


async def test_a_follow_up_due_in_a_few_seconds_starts_then_not_at_the_next_minute(
    database_url: str, tmp_path: Path, line: tuple[LineApiFake, Watched, str]
) -> None:
    fake, _, line_url = line
    schedule = schedule_file(tmp_path, "PT3S")
    settings = load_settings(database_url=database_url, schedule_file=schedule, default_locale="en")
    cli = build(settings, channels={})  # as `furikaeri session` in another process
    await upgrade(cli.db.engine)
    chat = "U" + "f" * 32
    counselor_id, students = await seed_consented_students(
        cli.db, cli.engine.clock.now(), {"line": (chat,)}
    )
    bot = BotProcess(environment(database_url, line_url, schedule, ""), tmp_path, "bot")
    try:
        bot.start()
        await until(lambda: bot.said("ready"))
        await asyncio.sleep(1.5)  # its start-up look at what is due has passed
        result = await admin.log_session(
            cli.engine, counselor_id=counselor_id, student_id=students[chat], topics=[]
        )
        assert result["queued_messages"] == 0  # due in three seconds, not now
        intro = cli.engine.prompts.sets["reflection"].intro
        # The minute tick would come 60 s after the start; a look every second finds it.
        await until(lambda: any(m.text == intro for m in fake.all_messages(chat)), timeout=20)
        bot.terminate()
    finally:
        bot.ensure_dead()
        await cli.db.dispose()
