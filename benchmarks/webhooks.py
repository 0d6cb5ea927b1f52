"""Webhook intake: how many signed webhooks per second `furikaeri run` accepts, as a share
of a bare endpoint on the same stack (Starlette on uvicorn, signature check, 200) measured
in the same run. Both are real processes; the chat APIs are the fakes from tests/fakes.

The server measured, bare or furikaeri, runs on a CPU of its own and this load generator
on the other(s) (benchmarks/cpus.py): shared, the three processes (with PostgreSQL) made
single rounds range from 0.3 to 0.7. The two are blasted in turns (ROUNDS each, bare
first), and each ratio is the median of the rounds' ratios: a machine whose speed drifts
during the run (a shared VM) moves both sides of a round alike. Both sides first take
WARMUP requests that are not counted (a process's first requests open its database
connection and its first HTTP connections). In `--role all` the bot's backlog is worked
off before the bare endpoint's next turn, so the bare endpoint never competes with it for
the CPU.

Keys: inbound_vs_bare_line, inbound_vs_bare_telegram: the intake's capacity, `furikaeri
run --role web` on PostgreSQL (FURIKAERI_TEST_DATABASE_URL's server; without it, these are
the `--role all` figures on SQLite). For information, inbound_all_vs_bare_line/_telegram:
`--role all` on SQLite, taking webhooks while it handles them in the same process. And the
rates behind them, and each process's peak resident memory (rss_mb_web, rss_mb_all).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.cpus import generator_apart, place
from benchmarks.intake import peak_rss_mb, start_process
from benchmarks.processes import SETTLE_SECONDS, postgresql_database, stop_bot
from bot.db.engine import create_test_engine
from bot.db.migrate import upgrade
from tests.fakes.line_api import LineApiFake, line_event_text, signed_body
from tests.fakes.server import LocalServer, free_port
from tests.fakes.telegram_api import SECRET_HEADER, FakeTelegram

ROUNDS = 7
# Requests per round, channel and process; `--role all` handles each round's events before
# the next round, at a fraction of the intake's rate.
ROUND = {"web": 1000, "all": 400}
WARMUP = 200  # requests per channel and process before the rounds, not counted
DRAIN_SECONDS = 180  # at most, for `--role all` to work off one turn's backlog
CONCURRENCY = 16
SENDERS = 50
TG_TOKEN = "123456:BENCH-telegram-token"
TG_SECRET = "bench-webhook-secret"
LINE_SECRET = "bench-line-channel-secret"
LINE_TOKEN = "bench-line-access-token"
STARTUP_SECONDS = 60


def _line_requests(count: int) -> list[tuple[bytes, dict[str, str]]]:
    requests = []
    for n in range(count):
        user = f"U{n % SENDERS:032x}"
        requests.append(signed_body([line_event_text(user, f"answer {n}")], LINE_SECRET))
    return requests


_UPDATE_IDS = itertools.count(1)  # Telegram update ids, unique across the whole run


def _telegram_requests(tg: FakeTelegram, count: int) -> list[tuple[bytes, dict[str, str]]]:
    ids = _UPDATE_IDS
    requests = []
    for n in range(count):
        update = tg.text_update(10_000 + n % SENDERS, f"answer {n}", update_id=next(ids))
        body = json.dumps(update).encode()
        requests.append((body, {"Content-Type": "application/json", SECRET_HEADER: TG_SECRET}))
    return requests


async def _blast(url: str, requests: list[tuple[bytes, dict[str, str]]]) -> tuple[float, int]:
    """POST every request, CONCURRENCY at a time: accepted (200) per second, and how many
    were not accepted (a rate limit or an error)."""
    queue = list(reversed(requests))
    failures = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        while queue:
            body, headers = queue.pop()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                failures += response.status != 200

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return (len(requests) - failures) / elapsed, failures


async def _wait_healthy(url: str, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{path} exited with {process.returncode}")
            try:
                async with session.get(url + path) as response:
                    if response.status in (200, 404, 405):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


async def _measure(tmp: Path, postgresql: str | None) -> dict[str, float]:
    tg, line = FakeTelegram(TG_TOKEN), LineApiFake(access_token=LINE_TOKEN)
    figures: dict[str, float] = {}
    with (
        LocalServer(tg.app) as tg_server,
        LocalServer(line.app) as line_server,
        generator_apart() as server_cpu,
    ):
        bare_port = free_port()
        bare = start_process(
            ["-m", "benchmarks.bare_endpoint", str(bare_port), LINE_SECRET, TG_SECRET], {}
        )
        try:
            bare_url = f"http://127.0.0.1:{bare_port}"
            await _wait_healthy(bare_url, bare, "/webhook/line")
            place(bare.pid, server_cpu)
            env = {
                "FURIKAERI_DEFAULT_LOCALE": "en",
                "FURIKAERI_LOG_LEVEL": "WARNING",
                "FURIKAERI_TELEGRAM_TOKEN": TG_TOKEN,
                "FURIKAERI_TELEGRAM_API_URL": f"{tg_server.url}/bot",
                "FURIKAERI_TELEGRAM_WEBHOOK_URL": "https://furikaeri.example.ac.jp/webhook/telegram",
                "FURIKAERI_TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
                "FURIKAERI_LINE_CHANNEL_SECRET": LINE_SECRET,
                "FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
                "FURIKAERI_LINE_API_URL": line_server.url,
            }
            sqlite = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
            all_env = {**env, "FURIKAERI_DATABASE_URL": sqlite}
            all_rates = await _furikaeri(tg, bare_url, all_env, "all", server_cpu)
            figures.update({f"{k}_all": v for k, v in all_rates.items()})
            if postgresql is not None:
                web_env = {**env, "FURIKAERI_DATABASE_URL": postgresql}
                web_rates = await _furikaeri(tg, bare_url, web_env, "web", server_cpu)
                figures.update({f"{k}_web": v for k, v in web_rates.items()})
        finally:
            stop_bot(bare)
    chosen = "web" if "furikaeri_line_per_s_web" in figures else "all"
    for name in ("line", "telegram"):
        figures[f"furikaeri_{name}_per_s"] = figures[f"furikaeri_{name}_per_s_{chosen}"]
        figures[f"bare_{name}_per_s"] = figures[f"bare_{name}_per_s_{chosen}"]
        figures[f"inbound_all_vs_bare_{name}"] = figures[f"vs_bare_{name}_all"]
        figures[f"inbound_vs_bare_{name}"] = figures[f"vs_bare_{name}_{chosen}"]
    return figures


async def _furikaeri(
    tg: FakeTelegram, bare_url: str, env: dict[str, str], role: str, cpu: set[int] | None
) -> dict[str, float]:
    """Blast one `furikaeri run --role ROLE` process and the bare endpoint in turns; the
    rates, their ratio, refusals and the bot's peak memory.

    The schema is migrated first, as a deployment's has been before any restart: the
    process measured is the one that serves, not the one that migrates."""
    database = create_test_engine(env["FURIKAERI_DATABASE_URL"])
    await upgrade(database)
    port = free_port()
    bot = start_process(
        ["-m", "bot.cli", "run", "--role", role], {**env, "FURIKAERI_HTTP_PORT": str(port)}
    )
    figures: dict[str, float] = {}
    try:
        url = f"http://127.0.0.1:{port}"
        await _wait_healthy(url, bot, "/healthz")
        await asyncio.sleep(SETTLE_SECONDS)
        place(bot.pid, cpu)
        for name, make in (("line", _line_requests), ("telegram", _telegram_requests)):
            bare_rates, rates, ratios, refused = [], [], [], 0
            await _blast(f"{bare_url}/webhook/{name}", _requests(make, tg, WARMUP))
            await _blast(f"{url}/webhook/{name}", _requests(make, tg, WARMUP))
            if role == "all":
                await _drained(database)
            for _ in range(ROUNDS):
                bare_requests = _requests(make, tg, ROUND[role])
                bare_rate, _ = await _blast(f"{bare_url}/webhook/{name}", bare_requests)
                rate, failures = await _blast(
                    f"{url}/webhook/{name}", _requests(make, tg, ROUND[role])
                )
                if role == "all":
                    await _drained(database)
                bare_rates.append(bare_rate)
                rates.append(rate)
                ratios.append(rate / bare_rate)
                refused += failures
            figures[f"bare_{name}_per_s"] = statistics.median(bare_rates)
            figures[f"furikaeri_{name}_per_s"] = statistics.median(rates)
            figures[f"vs_bare_{name}"] = statistics.median(ratios)
            figures[f"furikaeri_{name}_refused"] = refused
        figures["rss_mb"] = peak_rss_mb(bot.pid)
    finally:
        stop_bot(bot)
        await database.dispose()
    return figures


def _requests(
    make: Callable[..., list[tuple[bytes, dict[str, str]]]], tg: FakeTelegram, count: int
) -> list[tuple[bytes, dict[str, str]]]:
    return make(tg, count) if make is _telegram_requests else make(count)


async def _drained(database: AsyncEngine) -> None:
    """Until the bot has handled every event it accepted (or DRAIN_SECONDS passed)."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        async with database.connect() as conn:
            pending = await conn.scalar(text("SELECT count(*) FROM inbox WHERE status = 'pending'"))
        if not pending:
            return
        await asyncio.sleep(0.2)


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, postgresql_database() as postgresql:
        return asyncio.run(_measure(Path(tmp), postgresql))
