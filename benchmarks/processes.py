"""Real `furikaeri run` processes for the sending benchmarks, and the databases they share."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 60
# After /healthz answers, `furikaeri run` is still starting (its channels: the LINE SDK is
# imported in a thread then); a capacity is measured after that, not during it.
SETTLE_SECONDS = 2.0
QUIET_SCHEDULE = """
reflection_delay: PT1H
followups: []
send_window: null
reminder_after: null
expire_after: P7D
digest_push: null
"""


def start_bot(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`furikaeri run` with only these FURIKAERI_* variables; its stderr goes to `log`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FURIKAERI_")}
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            env={**clean, "PYTHONPATH": str(ROOT), "FURIKAERI_LOG_LEVEL": "WARNING", **env},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def stop_bot(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    """Until GET /healthz answers 200."""
    deadline = time.monotonic() + STARTUP_SECONDS
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"furikaeri run exited with {process.returncode}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("furikaeri run did not start")


@contextmanager
def postgresql_database() -> Iterator[str | None]:
    """A fresh database on FURIKAERI_TEST_DATABASE_URL's server, or None when it is not set."""
    url = os.environ.get("FURIKAERI_TEST_DATABASE_URL")
    if not url:
        yield None
        return
    from tests.conftest import _pg_async, _pg_database

    databases = _pg_database(_pg_async(url))
    try:
        yield next(databases)
    finally:
        next(databases, None)
