"""A real furikaeri process (tests/e2e/bot_process.py) killed with SIGKILL at several moments
and started again, on SQLite and on PostgreSQL: every due message is sent, none twice on
LINE, on Telegram at most one repeat and only of a send that was in flight. And two
dispatcher processes on one PostgreSQL send each message exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.bootstrap import App, build
from bot.config import load_settings
from bot.db.migrate import upgrade
from bot.db.models import OutboxMessage, Run
from bot.engine.outbox_writer import enqueue
from bot.engine.replies import Recipient, Reply
from handlers import admin
from tests.fakes.line_api import LineApiFake
from tests.fakes.server import LocalServer
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import seed_consented_students

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("bot_process.py")
TG_TOKEN = "123456:E2E-crash-token"
LINE_TOKEN = "e2e-access-token"
TG_CHATS = ("2001", "2002", "2003")
LINE_CHATS = ("U" + "c" * 32, "U" + "d" * 32, "U" + "e" * 32)
NUMBERED = 6  # queued messages per chat, besides the reflection the process starts itself
TWO_PROCESS_EXTRA = 24  # more per chat when two processes share the sending
SCHEDULE = """
reflection_delay: PT1S
followups: []
send_window: null
reminder_after: null
expire_after: P7D
digest_push: null
"""
IN_FLIGHT = 1.0  # seconds a fake holds the request the process is killed during


class Watched:
    """Counts the requests that reached a fake, per endpoint, and those not answered yet."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.arrived: Counter[str] = Counter()
        self.open = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = str(scope["path"]).rsplit("/", 1)[-1]  # sendMessage, push, ...
        with self._lock:
            self.arrived[endpoint] += 1
            self.open += 1
        try:
            await self.app(scope, receive, send)  # goes on when the client is gone
        finally:
            with self._lock:
                self.open -= 1


class BotProcess:
    """One `python tests/e2e/bot_process.py`, started and killed as often as needed."""

    def __init__(self, env: dict[str, str], logs: Path, name: str) -> None:
        self.env, self.logs, self.name = env, logs, name
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def stdout(self) -> Path:
        return self.logs / f"{self.name}-{self.starts}.out"

    def start(self) -> None:
        self.starts += 1
        with self.stdout.open("wb") as out, (self.logs / f"{self.name}.err").open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(SCRIPT)], env=self.env, cwd=self.logs, stdout=out, stderr=err
            )

    def said(self, word: str) -> bool:
        return word in self.stdout.read_text()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> dict[str, int]:
        """SIGTERM: a clean stop; returns what its dispatcher counted."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=30) == 0, (self.logs / f"{self.name}.err").read_text()
        last = self.stdout.read_text().strip().splitlines()[-1]
        return dict(json.loads(last))

    def ensure_dead(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


@dataclass
class Scene:
    """The fakes, the database as the test sees it, and what each chat should get."""

    app: App
    tg: FakeTelegram
    line: LineApiFake
    tg_watch: Watched
    line_watch: Watched
    env: dict[str, str]
    logs: Path
    numbered: dict[str, list[str]] = field(default_factory=dict)
    students: dict[str, int] = field(default_factory=dict)  # chat -> student id
    allowed_repeats: Counter[tuple[str, str]] = field(default_factory=Counter)

    def delivered(self, chat: str) -> list[str]:
        if chat in LINE_CHATS:
            return [m.text for m in self.line.all_messages(chat)]
        return [m.get("text", "") for m in self.tg.sent_messages(chat)]

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((chat, text) for chat in self.numbered for text in self.delivered(chat))

    def total(self) -> int:
        return sum(self.counts().values())

    async def unsent(self) -> list[OutboxMessage]:
        async with self.app.db.uow() as uow:
            query = select(OutboxMessage).where(OutboxMessage.status != "sent")
            rows = list((await uow.session.scalars(query)).all())
            uow.session.expunge_all()
            return rows

    async def runs(self) -> list[str]:
        async with self.app.db.uow() as uow:
            return list((await uow.session.scalars(select(Run.state))).all())

    async def set_due(self, delay: timedelta) -> None:
        """Move every unsent row's due time to now + `delay`."""
        async with self.app.db.uow() as uow:
            due = self.app.engine.clock.now() + delay
            await uow.session.execute(
                update(OutboxMessage).where(OutboxMessage.status == "pending").values(due_at=due)
            )
            await uow.commit()

    async def settle(self) -> None:
        """Wait until the fakes answered what a killed process left open."""
        await until(lambda: self.tg_watch.open == 0 and self.line_watch.open == 0)

    async def note_in_flight(self, before: Counter[tuple[str, str]]) -> None:
        """A Telegram message delivered in this run whose row is still unsent was in flight
        at the kill: it may show once more."""
        now = self.counts()
        for row in await self.unsent():
            for message in (row.payload or {}).get("messages", []):
                key = (row.chat_id, message["text"])
                if row.channel == "telegram" and now[key] > before[key]:
                    self.allowed_repeats[key] += 1

    async def done(self) -> bool:
        complete = all(
            len(set(self.delivered(chat))) == len(numbered) + 2
            for chat, numbered in self.numbered.items()
        )
        return complete and not await self.unsent() and await self.runs() == ["active"] * 6


async def until(condition: Callable[[], Any], timeout: float = 30.0) -> None:
    """Poll until `condition()` (a bool, or an awaitable of one) holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, LineApiFake, Watched, Watched, str, str]]:
    tg, line = FakeTelegram(TG_TOKEN), LineApiFake(access_token=LINE_TOKEN)
    tg_watch, line_watch = Watched(tg.app), Watched(line.app)
    with LocalServer(tg_watch) as tg_server, LocalServer(line_watch) as line_server:
        yield tg, line, tg_watch, line_watch, tg_server.url, line_server.url


@pytest.fixture
async def scene(
    database_url: str,
    tmp_path: Path,
    fakes: tuple[FakeTelegram, LineApiFake, Watched, Watched, str, str],
) -> AsyncIterator[Scene]:
    tg, line, tg_watch, line_watch, tg_url, line_url = fakes
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(SCHEDULE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FURIKAERI_")}
    env.update(
        PYTHONPATH=str(ROOT),
        FURIKAERI_DATABASE_URL=database_url,
        FURIKAERI_SCHEDULE_FILE=str(schedule),
        FURIKAERI_DEFAULT_LOCALE="en",
        FURIKAERI_LOG_LEVEL="WARNING",
        FURIKAERI_TELEGRAM_TOKEN=TG_TOKEN,
        FURIKAERI_TELEGRAM_API_URL=f"{tg_url}/bot",
        FURIKAERI_TELEGRAM_WEBHOOK_URL="https://bot.example/webhook/telegram",
        FURIKAERI_TELEGRAM_WEBHOOK_SECRET="e2e-webhook-secret",
        FURIKAERI_LINE_CHANNEL_SECRET="e2e-channel-secret",
        FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN=LINE_TOKEN,
        FURIKAERI_LINE_API_URL=line_url,
        FURIKAERI_LINE_MESSAGES_PER_SECOND="100",
        E2E_LEASE_SECONDS="1",
        E2E_TICK_SECONDS="0.1",
    )
    settings = load_settings(database_url=database_url, schedule_file=schedule, default_locale="en")
    app = build(settings, channels={})  # the test's own view of the database, like the CLI
    await upgrade(app.db.engine)
    built = Scene(app, tg, line, tg_watch, line_watch, env, tmp_path)
    await _seed(built)
    try:
        yield built
    finally:
        await app.db.dispose()


async def _seed(scene: Scene) -> None:
    """A counselor, three students on each channel, numbered messages queued for each, and
    a session whose reflection falls due a second later (for the process to start)."""
    engine = scene.app.engine
    counselor_id, students = await seed_consented_students(
        scene.app.db, engine.clock.now(), {"telegram": TG_CHATS, "line": LINE_CHATS}
    )
    scene.students = students
    for chat, student_id in students.items():
        await _queue_numbered(scene, chat, NUMBERED)
        await admin.log_session(engine, counselor_id=counselor_id, student_id=student_id, topics=[])


async def _queue_numbered(scene: Scene, chat: str, count: int) -> None:
    """Queue `count` more numbered messages for this chat, one row each."""
    numbered = scene.numbered.setdefault(chat, [])
    first = len(numbered) + 1
    for i in range(first, first + count):
        numbered.append(f"message {i} for {chat[:5]}")
        async with scene.app.db.uow() as uow:
            reply = Reply(text=numbered[-1], to=Recipient("student", scene.students[chat]))
            await enqueue(uow, [reply], now=scene.app.engine.clock.now())
            await uow.commit()


def _check_everything_arrived_once(scene: Scene) -> None:
    intro = "A few short questions about today's session."
    for chat, numbered in scene.numbered.items():
        got = scene.delivered(chat)
        first_seen = list(dict.fromkeys(got))
        assert [t for t in first_seen if t in numbered] == numbered  # in order
        assert sum(t.startswith(intro) for t in first_seen) == 1
        assert sum(t.startswith("(1/") for t in first_seen) == 1
        for text, times in Counter(got).items():
            if chat in LINE_CHATS:
                assert times == 1, (chat, text)  # the retry key makes LINE drop repeats
            else:
                assert times <= 1 + scene.allowed_repeats[(chat, text)], (chat, text)


async def test_kill_9_at_several_moments_then_start_again(scene: Scene) -> None:
    bot = BotProcess(scene.env, scene.logs, "bot")
    try:
        # 1. Killed while sending, a few messages in.
        before = scene.counts()
        bot.start()
        await until(lambda: scene.total() >= 3)
        bot.kill()
        await scene.settle()
        await scene.note_in_flight(before)

        # 2. Killed while a Telegram send and a LINE push are in flight: both fakes take
        # them and answer after the process is gone.
        scene.tg.delay_next("sendMessage", IN_FLIGHT)
        scene.line.delay_next("push", IN_FLIGHT)
        arrived = (scene.tg_watch.arrived["sendMessage"], scene.line_watch.arrived["push"])
        before = scene.counts()
        bot.start()
        await until(
            lambda: (
                scene.tg_watch.arrived["sendMessage"] > arrived[0]
                and scene.line_watch.arrived["push"] > arrived[1]
            )
        )
        bot.kill()
        await scene.settle()
        await scene.note_in_flight(before)
        assert scene.allowed_repeats  # that Telegram message went out; its row says unsent

        # 3. Killed while starting up.
        bot.start()
        await asyncio.sleep(0.3)
        bot.kill()

        # 4. Started for good: everything due goes out.
        bot.start()
        await until(scene.done)
        bot.terminate()
    finally:
        bot.ensure_dead()
    _check_everything_arrived_once(scene)
    assert 409 in [r.status for r in scene.line.requests("push")]  # a repeat LINE dropped
    assert len(scene.line.requests("reply")) == 0


async def test_two_dispatcher_processes_on_postgresql_send_each_message_once(
    scene: Scene, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite one process runs")
    # Enough rows, answered at uneven speed, that each process finds chats free while the
    # other still waits (whichever starts first would otherwise hold every chat's turn).
    for chat in TG_CHATS + LINE_CHATS:
        await _queue_numbered(scene, chat, TWO_PROCESS_EXTRA)
    for seconds in [0.01, 0.04, 0.09] * 60:
        scene.tg.delay_next("sendMessage", seconds)
        scene.line.delay_next("push", seconds)
    await scene.set_due(timedelta(hours=1))  # nothing is due until both are up
    bots = [BotProcess(scene.env, scene.logs, f"bot{i}") for i in (1, 2)]
    try:
        for bot in bots:
            bot.start()
        await until(lambda: all(bot.said("ready") for bot in bots))
        await scene.set_due(timedelta(0))
        await until(scene.done)
        stats = [bot.terminate() for bot in bots]
    finally:
        for bot in bots:
            bot.ensure_dead()
    for chat in scene.numbered:
        assert Counter(scene.delivered(chat)).most_common(1)[0][1] == 1  # each exactly once
    _check_everything_arrived_once(scene)
    async with scene.app.db.uow() as uow:
        rows = list((await uow.session.scalars(select(OutboxMessage.id))).all())
    assert all(s.get("sent", 0) > 0 for s in stats), stats  # both took part
    assert sum(s.get("sent", 0) for s in stats) == len(rows)  # and no row went out twice
