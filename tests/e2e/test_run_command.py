"""`furikaeri run` as a real process: web server, channels and ticks; SIGTERM stops it
cleanly with the work in flight finished; bad settings stop it with one clear line."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.world import (
    LINE_SECRET,
    LINE_TOKEN,
    TG_HOOK,
    TG_SECRET,
    TG_TOKEN,
    eventually,
)
from tests.fakes.line_api import LineApiFake, line_event_follow, signed_body
from tests.fakes.server import LocalServer, free_port
from tests.fakes.telegram_api import SECRET_HEADER, FakeTelegram

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STRANGER = 4321
LINE_USER = "U" + "a1" * 16


def furikaeri(*args: str, env: dict[str, str], cwd: Path, **options: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        env={**_clean_environment(), **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def _clean_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FURIKAERI_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


class Running:
    """A `furikaeri run` process on a free port, stopped (killed if need be) at the end."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = furikaeri("run", env={**env, "FURIKAERI_HTTP_PORT": str(self.port)}, cwd=cwd)

    async def healthy(self) -> None:
        """Wait until /healthz answers 200 (the process migrated and serves webhooks)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:

            async def answers() -> bool:
                if self.process.poll() is not None:
                    raise AssertionError(f"furikaeri run exited: {self.process.stderr.read()}")  # type: ignore[union-attr]
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while not await answers():
                assert loop.time() < deadline, "furikaeri run did not become healthy"
                await asyncio.sleep(0.05)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            return (await client.post(path, content=body, headers=headers)).status_code

    def terminate(self) -> tuple[int, str]:
        """SIGTERM; the exit code and stderr."""
        self.process.send_signal(signal.SIGTERM)
        _, stderr = self.process.communicate(timeout=30)
        return self.process.returncode, stderr

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


@pytest.fixture
def servers() -> Iterator[tuple[FakeTelegram, LineApiFake, str, str]]:
    tg, line = FakeTelegram(TG_TOKEN), LineApiFake(access_token=LINE_TOKEN)
    with LocalServer(tg.app) as tg_server, LocalServer(line.app) as line_server:
        yield tg, line, tg_server.url, line_server.url


def env_for(tmp_path: Path, tg_url: str, line_url: str = "", *, webhook: bool) -> dict[str, str]:
    env = {
        "FURIKAERI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'furikaeri.db'}",
        "FURIKAERI_DEFAULT_LOCALE": "en",
        "FURIKAERI_TELEGRAM_TOKEN": TG_TOKEN,
        "FURIKAERI_TELEGRAM_API_URL": f"{tg_url}/bot",
        "FURIKAERI_TELEGRAM_POLL_TIMEOUT": "0.5",
        "FURIKAERI_API_TIMEOUT": "5",
    }
    if webhook:
        env["FURIKAERI_TELEGRAM_WEBHOOK_URL"] = TG_HOOK
        env["FURIKAERI_TELEGRAM_WEBHOOK_SECRET"] = TG_SECRET
    if line_url:
        env["FURIKAERI_LINE_CHANNEL_SECRET"] = LINE_SECRET
        env["FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN"] = LINE_TOKEN
        env["FURIKAERI_LINE_API_URL"] = line_url
    return env


def outbox_statuses(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "furikaeri.db") as db:
        return [status for (status,) in db.execute("SELECT status FROM outbox ORDER BY id")]


async def test_run_serves_both_webhooks_and_stops_cleanly_on_sigterm(
    tmp_path: Path, servers: tuple[FakeTelegram, LineApiFake, str, str]
) -> None:
    tg, line, tg_url, line_url = servers
    bot = Running(env_for(tmp_path, tg_url, line_url, webhook=True), tmp_path)
    try:
        await bot.healthy()  # webhooks are taken first; the channels start right after
        await eventually(lambda: bool(tg.commands(language_code="en")), "menus set at start")
        [hook] = tg.calls("setWebhook")
        assert (hook["url"], hook["secret_token"]) == (TG_HOOK, TG_SECRET)
        assert "callback_query" in hook["allowed_updates"]

        headers, body = tg.webhook_request(tg.text_update(STRANGER, "/start"))
        assert await bot.post("/webhook/telegram", body, headers) == 200
        await eventually(lambda: len(tg.sent_messages(STRANGER)) == 1, "Telegram answer")
        assert "To join" in tg.sent_messages(STRANGER)[0]["text"]

        follow = line_event_follow(LINE_USER, reply_token=line.issue_reply_token(LINE_USER))
        line_body, line_headers = signed_body([follow], LINE_SECRET)
        assert await bot.post("/webhook/line", line_body, line_headers) == 200
        await eventually(lambda: len(line.replied(LINE_USER)) == 1, "LINE reply")

        bad = {**headers, SECRET_HEADER: "wrong"}
        assert await bot.post("/webhook/telegram", body, bad) == 403

        # Work in flight: the reply is on its way (Telegram is slow) when SIGTERM comes.
        tg.delay_next("sendMessage", 0.8)
        headers, body = tg.webhook_request(tg.text_update(STRANGER, "hello?"))
        assert await bot.post("/webhook/telegram", body, headers) == 200
        await eventually(lambda: len(tg.calls("sendMessage")) == 2, "second send under way")
        code, stderr = bot.terminate()
    finally:
        bot.kill()

    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert len(tg.sent_messages(STRANGER)) == 2  # the slow send finished before the exit
    assert outbox_statuses(tmp_path) == ["sent", "sent", "sent"]


async def test_run_in_polling_mode_deletes_the_webhook_and_confirms_what_it_handled(
    tmp_path: Path, servers: tuple[FakeTelegram, LineApiFake, str, str]
) -> None:
    tg, _, tg_url, _ = servers
    tg.webhook["url"] = "https://old.example/webhook"  # left over from a webhook deployment
    bot = Running(env_for(tmp_path, tg_url, webhook=False), tmp_path)
    try:
        await bot.healthy()
        await eventually(lambda: bool(tg.calls("deleteWebhook")), "polling started")
        assert tg.webhook["url"] == ""
        update = tg.push_update(tg.text_update(STRANGER, "/start"))
        await eventually(lambda: len(tg.sent_messages(STRANGER)) == 1, "Telegram answer")
        headers, body = tg.webhook_request(update)  # webhooks are refused while polling
        assert await bot.post("/webhook/telegram", body, headers) == 403
        code, stderr = bot.terminate()
    finally:
        bot.kill()

    assert code == 0, stderr
    assert tg.pending_update_ids() == []  # the offset was confirmed: no repeat after a restart
    assert outbox_statuses(tmp_path) == ["sent"]


def run_and_wait(env: dict[str, str], cwd: Path) -> tuple[int, list[str]]:
    process = furikaeri("run", env=env, cwd=cwd)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr.strip().splitlines()


def test_run_without_a_channel_exits_2_naming_the_variables(tmp_path: Path) -> None:
    code, lines = run_and_wait({}, tmp_path)
    assert code == 2
    assert len(lines) == 1
    for name in (
        "FURIKAERI_TELEGRAM_TOKEN",
        "FURIKAERI_LINE_CHANNEL_SECRET",
        "FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN",
    ):
        assert name in lines[0]


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("FURIKAERI_HTTP_PORT", "abc", "FURIKAERI_HTTP_PORT"),
        ("FURIKAERI_TIMEZONE", "Mars/Base", "FURIKAERI_TIMEZONE"),
        ("FURIKAERI_TELEGRAM_WEBHOOK_URL", TG_HOOK, "FURIKAERI_TELEGRAM_WEBHOOK_SECRET"),
    ],
)
def test_run_with_a_bad_variable_exits_2_naming_it(
    tmp_path: Path, name: str, value: str, named: str
) -> None:
    env = {"FURIKAERI_TELEGRAM_TOKEN": TG_TOKEN, name: value}
    code, lines = run_and_wait(env, tmp_path)
    assert code == 2
    assert len(lines) == 1 and named in lines[0], lines
    assert not (tmp_path / "furikaeri.db").exists()  # nothing started


def test_run_with_a_refused_token_exits_1_with_one_line_and_no_token(
    tmp_path: Path, servers: tuple[FakeTelegram, LineApiFake, str, str]
) -> None:
    _, _, tg_url, _ = servers
    env = env_for(tmp_path, tg_url, webhook=False)
    env["FURIKAERI_TELEGRAM_TOKEN"] = "123456:not-the-bots-token"
    env["FURIKAERI_HTTP_PORT"] = str(free_port())
    code, lines = run_and_wait(env, tmp_path)
    assert code == 1
    failures = [line for line in lines if line.startswith("furikaeri: could not start")]
    assert len(failures) == 1 and "InvalidToken" in failures[0]
    assert not any("not-the-bots-token" in line for line in lines)


async def _queue(tmp_path: Path, chat: int, n: int) -> None:
    """`n` messages due now for one Telegram chat, written through the repositories."""
    from datetime import UTC, datetime

    from bot.bootstrap import build
    from bot.config import load_settings
    from bot.db.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'furikaeri.db'}"
    app = build(load_settings(database_url=url, _env_file=None), channels={})
    try:
        await upgrade(app.db.engine)
        now = datetime.now(UTC)
        async with app.db.uow() as uow:
            for i in range(n):
                await uow.outbox.add(
                    idempotency_key=f"queued-{i}",
                    channel="telegram",
                    chat_id=str(chat),
                    payload={"messages": [{"text": f"queued message {i}", "columns": 1}]},
                    due_at=now,
                    created_at=now,
                )
            await uow.commit()
    finally:
        await app.db.dispose()


async def test_sigterm_ends_the_process_within_ten_seconds_whatever_is_queued(
    tmp_path: Path, servers: tuple[FakeTelegram, LineApiFake, str, str]
) -> None:
    tg, _, tg_url, _ = servers
    await _queue(tmp_path, STRANGER, 500)  # at 1 per second per chat: over 8 minutes
    bot = Running(env_for(tmp_path, tg_url, webhook=False), tmp_path)
    try:
        await bot.healthy()
        await eventually(lambda: len(tg.sent_messages(STRANGER)) >= 2, "sending under way")
        started = asyncio.get_running_loop().time()
        code, stderr = bot.terminate()
        took = asyncio.get_running_loop().time() - started
    finally:
        bot.kill()

    assert code == 0, stderr
    assert took < 10, f"SIGTERM took {took:.1f} s"
    sent = len(tg.sent_messages(STRANGER))
    statuses = outbox_statuses(tmp_path)
    assert statuses.count("sent") == sent < 20
    assert statuses.count("pending") == 500 - sent  # what was not sent stays queued
    with sqlite3.connect(tmp_path / "furikaeri.db") as db:
        claimed = db.execute("SELECT count(*) FROM outbox WHERE claimed_until IS NOT NULL")
        assert claimed.fetchone() == (0,)  # none held by a lease: the next start sends them
