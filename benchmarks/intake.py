"""Start-up and memory of `furikaeri run` (real processes, the chat APIs are the fakes).

restart_to_serving_s: 1,000 messages are queued (the process was sending them when it was
restarted); from the new process's spawn until /healthz answers 200 and a signed webhook
is answered 200. Goal ≤ 5 (before: the backlog was sent before the web server started).
rss_mb: peak resident memory of that process while it works off the backlog and takes a
burst of webhooks. Goal < 150. The webhook suite reports its processes' peaks as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from benchmarks.processes import stop_bot
from bot.bootstrap import build
from bot.config import load_settings
from bot.db.migrate import upgrade
from bot.engine.outbox_writer import enqueue
from bot.engine.replies import Recipient, Reply
from tests.fakes.line_api import LineApiFake, line_event_text, signed_body
from tests.fakes.server import LocalServer, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import seed_consented_students

ROOT = Path(__file__).resolve().parents[1]
QUEUED = 1000
TG_TOKEN = "123456:BENCH-telegram-token"
TG_SECRET = "bench-webhook-secret"
LINE_SECRET = "bench-line-channel-secret"
LINE_TOKEN = "bench-line-access-token"
TG_CHATS = tuple(str(5000 + n) for n in range(20))
LINE_CHATS = tuple(f"U{n:032x}" for n in range(20))
BURST = 500  # webhooks posted while the backlog is being sent


def bot_env(database_url: str, tg_url: str, line_url: str, port: int) -> dict[str, str]:
    return {
        "FURIKAERI_DATABASE_URL": database_url,
        "FURIKAERI_DEFAULT_LOCALE": "en",
        "FURIKAERI_LOG_LEVEL": "WARNING",
        "FURIKAERI_HTTP_PORT": str(port),
        "FURIKAERI_TELEGRAM_TOKEN": TG_TOKEN,
        "FURIKAERI_TELEGRAM_API_URL": f"{tg_url}/bot",
        "FURIKAERI_TELEGRAM_WEBHOOK_URL": "https://furikaeri.example.ac.jp/webhook/telegram",
        "FURIKAERI_TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "FURIKAERI_LINE_CHANNEL_SECRET": LINE_SECRET,
        "FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
        "FURIKAERI_LINE_API_URL": line_url,
    }


def start_bot(env: dict[str, str], role: str = "all") -> subprocess.Popen[bytes]:
    return start_process(["-m", "bot.cli", "run", "--role", role], env)


def start_process(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A Python process of this checkout, with these FURIKAERI_* settings and no others."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FURIKAERI_")}
    return subprocess.Popen(
        [sys.executable, *args],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB; 0 where /proc has no such line."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def queue_messages(database_url: str) -> None:
    """QUEUED messages due now, half to Telegram chats and half to LINE chats."""
    app = build(load_settings(database_url=database_url, _env_file=None), channels={})
    try:
        await upgrade(app.db.engine)
        now = datetime.now(UTC)
        chats = {"telegram": TG_CHATS, "line": LINE_CHATS}
        _, students = await seed_consented_students(app.db, now, chats)
        ids = list(students.values())
        async with app.db.uow() as uow:
            replies = [
                Reply(text=f"queued {n}", to=Recipient("student", ids[n % len(ids)]))
                for n in range(QUEUED)
            ]
            await enqueue(uow, replies, now=now)
            await uow.commit()
    finally:
        await app.db.dispose()


async def serving(url: str, process: subprocess.Popen[bytes]) -> None:
    """Until /healthz is 200 and a signed LINE webhook is answered 200."""
    body, headers = signed_body([line_event_text(LINE_CHATS[0], "are you there?")], LINE_SECRET)
    async with aiohttp.ClientSession() as session:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"furikaeri run exited with {process.returncode}")
            try:
                async with session.get(f"{url}/healthz") as health:
                    if health.status == 200:
                        async with session.post(
                            f"{url}/webhook/line", data=body, headers=headers
                        ) as hook:
                            if hook.status == 200:
                                return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.02)


async def burst(url: str) -> None:
    """BURST signed LINE webhooks, 16 at a time, from 50 students."""
    queue = [
        signed_body([line_event_text(f"U{n % 50:031x}f", f"answer {n}")], LINE_SECRET)
        for n in range(BURST)
    ]

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            body, headers = queue.pop()
            async with session.post(f"{url}/webhook/line", data=body, headers=headers) as r:
                await r.read()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(16)))


async def measure(tmp: Path) -> dict[str, float]:
    database_url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    await queue_messages(database_url)
    tg, line = FakeTelegram(TG_TOKEN), LineApiFake(access_token=LINE_TOKEN)
    with LocalServer(tg.app) as tg_server, LocalServer(line.app) as line_server:
        port = free_port()
        env = bot_env(database_url, tg_server.url, line_server.url, port)
        url = f"http://127.0.0.1:{port}"
        first = start_bot(env)  # sending the backlog when it is restarted
        try:
            await serving(url, first)
            await asyncio.sleep(2.0)
        finally:
            stop_bot(first)
        started = time.perf_counter()
        again = start_bot(env)
        try:
            await serving(url, again)
            restart = time.perf_counter() - started
            await burst(url)
            await asyncio.sleep(3.0)  # the backlog and the burst keep it busy meanwhile
            rss = peak_rss_mb(again.pid)
        finally:
            stop_bot(again)
    return {"restart_to_serving_s": restart, "rss_mb": rss}


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(measure(Path(tmp)))
