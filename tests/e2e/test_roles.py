"""`furikaeri run` as real processes: a kill between taking an event and handling it loses
nothing; one web process and two workers share PostgreSQL; SQLite runs one process only;
SIGTERM ends the process within 10 s however much is queued."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.bootstrap import build
from bot.config import load_settings
from bot.db.migrate import upgrade
from bot.db.models import InboxEvent, OutboxMessage
from bot.engine.outbox_writer import enqueue
from bot.engine.replies import Recipient, Reply
from tests.conftest import PG_URL, _pg_async, _pg_database
from tests.e2e.test_crash_recovery import Watched, until
from tests.e2e.world import LINE_SECRET, LINE_TOKEN, TG_TOKEN
from tests.fakes.line_api import LineApiFake, line_event_follow, line_event_text, signed_body
from tests.fakes.server import LocalServer, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import seed_consented_students

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STOP_LIMIT = 10.0  # seconds: what a container runtime gives a process after SIGTERM
USERS = [f"U{n:032x}" for n in range(1, 6)]


class Furikaeri:
    """One `furikaeri run --role …` process on a free port."""

    def __init__(self, env: dict[str, str], cwd: Path, role: str = "all") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("FURIKAERI_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--role", role],
            env={**clean, "PYTHONPATH": str(ROOT), **env, "FURIKAERI_HTTP_PORT": str(self.port)},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    async def healthy(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:

            async def answers() -> bool:
                if self.process.poll() is not None:
                    raise AssertionError(f"exited: {self.process.communicate()[1]}")
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(answers, timeout=60)

    async def post_line(self, *events: dict[str, object]) -> int:
        body, headers = signed_body(list(events), LINE_SECRET)
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            return (await client.post("/webhook/line", content=body, headers=headers)).status_code

    async def metric(self, sample: str) -> float:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            text = (await client.get("/metrics")).text
        match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=timeout)
        return self.process.returncode


@pytest.fixture
def line_api() -> Iterator[tuple[LineApiFake, Watched, str]]:
    line = LineApiFake(access_token=LINE_TOKEN)
    watch = Watched(line.app)
    with LocalServer(watch) as server:
        yield line, watch, server.url


def line_env(database_url: str, line_url: str) -> dict[str, str]:
    return {
        "FURIKAERI_DATABASE_URL": database_url,
        "FURIKAERI_DEFAULT_LOCALE": "en",
        "FURIKAERI_LOG_LEVEL": "WARNING",
        "FURIKAERI_LINE_CHANNEL_SECRET": LINE_SECRET,
        "FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
        "FURIKAERI_LINE_API_URL": line_url,
        "FURIKAERI_LINE_MESSAGES_PER_SECOND": "1000",
    }


async def inbox(database_url: str) -> list[tuple[str, str]]:
    """(event id, status) of every inbox row, as the database has them."""
    app = build(load_settings(database_url=database_url, _env_file=None), channels={})
    try:
        async with app.db.uow() as uow:
            query = select(InboxEvent.event_id, InboxEvent.status).order_by(InboxEvent.id)
            return [(e, s) for e, s in (await uow.session.execute(query)).all()]
    finally:
        await app.db.dispose()


async def test_a_kill_between_taking_an_event_and_handling_it_loses_nothing(
    database_url: str, tmp_path: Path, line_api: tuple[LineApiFake, Watched, str]
) -> None:
    line, watch, line_url = line_api
    env = line_env(database_url, line_url)
    line.delay_next("profile", 30)  # the worker is reading the first event when killed
    bot = Furikaeri(env, tmp_path)
    try:
        await bot.healthy()
        assert await bot.post_line(line_event_follow(USERS[0], event_id="E-FOLLOW")) == 200
        assert await bot.post_line(line_event_text(USERS[0], "hello", event_id="E-TEXT")) == 200
        await until(lambda: watch.arrived[USERS[0]] == 1)  # GET /v2/bot/profile/{user}
        bot.kill()  # both events committed, neither handled
    finally:
        bot.kill()
    assert await inbox(database_url) == [("E-FOLLOW", "pending"), ("E-TEXT", "pending")]
    assert line.all_messages(USERS[0]) == []

    again = Furikaeri(env, tmp_path)
    try:
        await until(lambda: len(line.all_messages(USERS[0])) == 2)
        assert again.terminate() == 0
    finally:
        again.kill()
    assert await inbox(database_url) == [("E-FOLLOW", "done"), ("E-TEXT", "done")]
    texts = [m.text for m in line.all_messages(USERS[0])]
    assert "To join" in texts[-1]  # the answer to "hello", after the greeting, each once


@pytest.mark.parametrize("role", ["web", "worker"])
def test_on_sqlite_only_one_process_runs(tmp_path: Path, role: str) -> None:
    env = line_env(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}", "http://127.0.0.1:9")
    process = Furikaeri(env, tmp_path, role=role).process
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    [line] = stderr.strip().splitlines()
    assert line.startswith(f"furikaeri: --role {role} needs PostgreSQL")
    assert not (tmp_path / "f.db").exists()  # refused before touching anything


def test_an_unknown_role_is_refused_in_one_line(tmp_path: Path) -> None:
    env = line_env(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}", "http://127.0.0.1:9")
    process = Furikaeri(env, tmp_path, role="everything").process
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.strip().splitlines() == [
        "furikaeri: --role must be one of all, web, worker, not 'everything'"
    ]


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("FURIKAERI_TEST_DATABASE_URL is not set")
    yield from _pg_database(_pg_async(PG_URL))


@pytest.mark.needs_postgresql
async def test_one_web_process_takes_events_and_two_workers_handle_each_once(
    postgresql_url: str, tmp_path: Path, line_api: tuple[LineApiFake, Watched, str]
) -> None:
    line, _, line_url = line_api
    env = line_env(postgresql_url, line_url)
    web = Furikaeri(env, tmp_path, role="web")
    workers = [Furikaeri(env, tmp_path, role="worker") for _ in range(2)]
    everyone = [web, *workers]
    try:
        for process in everyone:
            await process.healthy()
        statuses = await asyncio.gather(
            *(
                web.post_line(line_event_text(user, f"hello {n}", event_id=f"E-{user[-2:]}-{n}"))
                for n in range(4)
                for user in USERS
            )
        )
        assert statuses == [200] * 20
        await until(lambda: all(len(line.all_messages(u)) == 4 for u in USERS), timeout=60)
        done = 'furikaeri_events_handled_total{channel="line",outcome="done"}'
        by_worker = [await w.metric(done) for w in workers]
        assert await web.metric(done) == 0  # the web process only takes events
        assert sum(by_worker) == 20  # each event handled once, by one of the workers
        for process in everyone:
            assert process.terminate() == 0
    finally:
        for process in everyone:
            process.kill()
    assert {status for _, status in await inbox(postgresql_url)} == {"done"}
    for user in USERS:
        assert len(line.all_messages(user)) == 4  # nothing answered twice


async def queue_messages(database_url: str, count: int, chats: tuple[str, ...]) -> None:
    """`count` Telegram messages due now, spread over consented students in `chats`."""
    settings = load_settings(database_url=database_url, _env_file=None)
    app = build(settings, channels={})
    try:
        await upgrade(app.db.engine)
        now = datetime.now(UTC)
        _, students = await seed_consented_students(app.db, now, {"telegram": chats})
        async with app.db.uow() as uow:
            replies = [
                Reply(text=f"message {n}", to=Recipient("student", students[chats[n % len(chats)]]))
                for n in range(count)
            ]
            await enqueue(uow, replies, now=now)
            await uow.commit()
    finally:
        await app.db.dispose()


async def test_sigterm_ends_the_process_within_10_s_with_work_queued(
    database_url: str, tmp_path: Path
) -> None:
    chats = ("3001", "3002", "3003")
    await queue_messages(database_url, 1000, chats)
    tg = FakeTelegram(TG_TOKEN)
    for _ in range(40):
        tg.delay_next("sendMessage", 0.3)  # a slow platform: sends are in flight at the stop
    with LocalServer(tg.app) as tg_server:
        env = {
            "FURIKAERI_DATABASE_URL": database_url,
            "FURIKAERI_DEFAULT_LOCALE": "en",
            "FURIKAERI_TELEGRAM_TOKEN": TG_TOKEN,
            "FURIKAERI_TELEGRAM_API_URL": f"{tg_server.url}/bot",
            "FURIKAERI_TELEGRAM_WEBHOOK_URL": "https://bot.example/webhook/telegram",
            "FURIKAERI_TELEGRAM_WEBHOOK_SECRET": "e2e-webhook-secret",
        }
        bot = Furikaeri(env, tmp_path)
        try:
            await bot.healthy()
            await until(lambda: len(tg.calls("sendMessage")) >= 3, timeout=30)
            assert bot.terminate(timeout=STOP_LIMIT) == 0  # raises after 10 s
        finally:
            bot.kill()
        delivered = sum(len(tg.sent_messages(chat)) for chat in chats)

    app = build(load_settings(database_url=database_url, _env_file=None), channels={})
    try:
        async with app.db.uow() as uow:
            query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            counts = dict((await uow.session.execute(query)).all())
    finally:
        await app.db.dispose()
    assert counts.get("sent", 0) == delivered > 0  # what went out is recorded as sent
    assert counts.get("pending", 0) == 1000 - delivered  # the rest waits for the next start
