"""The web edge: health, body limit, malformed bodies and the per-source rate limit,
in front of the real channels and the real database."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.bootstrap import build
from bot.config import load_settings
from bot.db.models import InboxEvent
from bot.web import MAX_BODY, SourceRateLimit, create_app
from tests.conftest import PG_URL, _pg_async
from tests.e2e.world import LINE_SECRET, TG_SECRET, World, eventually
from tests.fakes.line_api import sign, signed_body

MakeWorld = Callable[..., Awaitable[World]]
TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}


@pytest.fixture
def world(both_channels: World) -> World:
    return both_channels


def client_for(web: Any, source: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=web, client=(source, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://furikaeri.test")


@pytest.fixture
async def gone_database(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, Any]]:
    """A database URL and a function that makes that database disappear."""
    if database_url.startswith("sqlite"):
        folder = tmp_path / "data"
        folder.mkdir()

        async def remove_sqlite() -> None:
            shutil.rmtree(folder)

        yield f"sqlite+aiosqlite:///{folder / 'furikaeri.db'}", remove_sqlite
        return

    async def drop_postgres() -> None:
        name = database_url.rsplit("/", 1)[1]
        admin = create_async_engine(_pg_async(PG_URL), isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()

    yield database_url, drop_postgres


async def test_healthz_is_200_while_the_database_answers_and_503_when_it_is_gone(
    gone_database: tuple[str, Callable[[], Awaitable[None]]],
) -> None:
    url, remove = gone_database
    app = build(load_settings(database_url=url, _env_file=None), channels={})
    web = create_app(webhooks={}, ping=app.db.ping)
    async with client_for(web) as client:
        response = await client.get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})
        await app.db.dispose()  # pooled connections would hide the loss for a while
        await remove()
        response = await client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "database unavailable"}
    await app.db.dispose()
    # aiosqlite finishes a failed connection on its own thread: let it, while the loop runs.
    await eventually(
        lambda: not any("_connection_worker_thread" in t.name for t in threading.enumerate()),
        "database threads finished",
    )


async def test_a_body_over_the_limit_is_413_and_nothing_is_stored(world: World) -> None:
    assert world.client is not None
    update = json.dumps({"update_id": 1, "padding": "x" * MAX_BODY}).encode()
    response = await world.client.post("/webhook/telegram", content=update, headers=TG_HEADERS)
    assert response.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for _ in range(MAX_BODY // 50_000 + 2):
            yield b" " * 50_000

    response = await world.client.post("/webhook/telegram", content=chunks(), headers=TG_HEADERS)
    assert response.status_code == 413
    body, headers = signed_body([], LINE_SECRET)
    big = body.replace(b"[]", b"[" + b" " * MAX_BODY + b"]")
    headers["X-Line-Signature"] = sign(big, LINE_SECRET)
    response = await world.client.post("/webhook/line", content=big, headers=headers)
    assert response.status_code == 413
    await world.settle()
    assert await world.rows(InboxEvent) == []


async def test_malformed_json_is_400_and_nothing_is_stored(world: World) -> None:
    assert world.client is not None
    for body in (b"{not json", b"\xff\xfe", b"[1, 2]", b'{"no_update_id": true}'):
        response = await world.client.post("/webhook/telegram", content=body, headers=TG_HEADERS)
        assert response.status_code == 400, body
        headers = {"X-Line-Signature": sign(body, LINE_SECRET)}
        response = await world.client.post("/webhook/line", content=body, headers=headers)
        assert response.status_code == 400, body
    await world.settle()
    assert await world.rows(InboxEvent) == []


async def test_unknown_channels_and_methods_are_refused(world: World) -> None:
    assert world.client is not None
    assert (await world.client.post("/webhook/whatsapp", content=b"{}")).status_code == 404
    assert (await world.client.get("/webhook/telegram")).status_code == 405


def _web(world: World, limiter: SourceRateLimit, **options: Any) -> Any:
    return create_app(
        webhooks=world.running.channels, ping=world.running.db.ping, limiter=limiter, **options
    )


async def _post(web: Any, source: str, body: bytes, headers: dict[str, str]) -> int:
    async with client_for(web, source) as client:
        response = await client.post("/webhook/line", content=body, headers=headers)
        return response.status_code


async def test_only_requests_that_fail_the_check_are_rate_limited_per_source(
    world: World,
) -> None:
    now = [1000.0]
    web = _web(world, SourceRateLimit(rate=1.0, burst=3, clock=lambda: now[0]))
    genuine, headers = signed_body([], LINE_SECRET)  # LINE's "verify" call: no events
    junk = {"X-Line-Signature": sign(genuine, "not-our-secret")}
    attacker, proxy = "203.0.113.7", "198.51.100.2"

    assert [await _post(web, attacker, genuine, junk) for _ in range(4)] == [400, 400, 400, 429]
    assert await _post(web, proxy, genuine, junk) == 400  # another source has its own budget
    now[0] += 1.0
    assert [await _post(web, attacker, genuine, junk) for _ in range(2)] == [400, 429]
    # Junk never starves genuine requests, even from the same address.
    assert [await _post(web, attacker, genuine, headers) for _ in range(20)] == [200] * 20
    async with client_for(web, attacker) as client:
        assert (await client.get("/healthz")).status_code == 200  # health is never limited
        update = json.dumps({"update_id": 1}).encode()
        wrong = {**TG_HEADERS, "X-Telegram-Bot-Api-Secret-Token": "wrong"}
        response = await client.post("/webhook/telegram", content=update, headers=wrong)
        assert response.status_code == 429  # the same budget covers both webhooks


async def test_behind_a_trusted_proxy_the_source_is_the_forwarded_address(
    world: World,
) -> None:
    web = _web(
        world,
        SourceRateLimit(rate=0.001, burst=2),
        trusted_proxies=load_settings(
            trusted_proxies="10.0.0.1, 192.168.0.0/16", _env_file=None
        ).trusted_proxy_networks,
    )
    genuine, _ = signed_body([], LINE_SECRET)
    junk = {"X-Line-Signature": sign(genuine, "not-our-secret")}

    def via(chain: str) -> dict[str, str]:
        return {**junk, "X-Forwarded-For": chain}

    # Through the proxy, each client has its own budget; what the client itself wrote to
    # the left of the proxies' entries does not count.
    statuses = [await _post(web, "10.0.0.1", genuine, via("203.0.113.7")) for _ in range(3)]
    assert statuses == [400, 400, 429]
    assert await _post(web, "10.0.0.1", genuine, via("198.51.100.2")) == 400
    spoofed = via("198.51.100.9, 203.0.113.7, 192.168.4.4")
    assert await _post(web, "10.0.0.1", genuine, spoofed) == 429  # still 203.0.113.7
    # From an address that is not a trusted proxy, X-Forwarded-For is ignored.
    assert [await _post(web, "192.0.2.50", genuine, via(f"198.18.0.{n}")) for n in range(3)] == [
        400,
        400,
        429,
    ]


async def test_a_body_nested_too_deep_is_400_and_nothing_is_stored(world: World) -> None:
    assert world.client is not None
    for depth in (100, 100_000):  # within Python's recursion limit, and far past it
        nested = "[" * depth + "]" * depth
        update = f'{{"update_id": 7, "message": {nested}}}'.encode()
        response = await world.client.post("/webhook/telegram", content=update, headers=TG_HEADERS)
        assert response.status_code == 400, depth
        body = f'{{"destination": "U0", "events": [{{"x": {nested}}}]}}'.encode()
        headers = {"X-Line-Signature": sign(body, LINE_SECRET)}
        response = await world.client.post("/webhook/line", content=body, headers=headers)
        assert response.status_code == 400, depth
    await world.settle()
    assert await world.rows(InboxEvent) == []
