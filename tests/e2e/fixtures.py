"""Fixtures for tests that run whole worlds: the fake chat servers, and worlds closed after.

Imported by tests/e2e/conftest.py, and by any test module that needs them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from bot.clock import ManualClock
from tests.e2e.world import LINE_TOKEN, TG_TOKEN, World
from tests.fakes.line_api import LineApiFake
from tests.fakes.server import LocalServer, Swappable, serve_swappable
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture(scope="session")
def telegram_server() -> Iterator[tuple[LocalServer, Swappable]]:
    yield from serve_swappable()


@pytest.fixture(scope="session")
def line_server() -> Iterator[tuple[LocalServer, Swappable]]:
    yield from serve_swappable()


@pytest.fixture
def tg(telegram_server: tuple[LocalServer, Swappable]) -> FakeTelegram:
    fake = FakeTelegram(TG_TOKEN)
    telegram_server[1].app = fake.app
    return fake


@pytest.fixture
def line(line_server: tuple[LocalServer, Swappable]) -> LineApiFake:
    fake = LineApiFake(access_token=LINE_TOKEN)
    line_server[1].app = fake.app
    return fake


@pytest.fixture
async def make_world(database_url: str) -> AsyncIterator[Callable[..., Any]]:
    """`await make_world(settings, tg=..., line=...)`: an open World, closed after the test
    (and before its database is dropped)."""
    opened: list[World] = []

    async def make(
        settings: dict[str, Any],
        *,
        tg: FakeTelegram | None = None,
        line: LineApiFake | None = None,
    ) -> World:
        world = World(settings=settings, clock=ManualClock(), tg=tg, line=line)
        opened.append(world)
        return await world.open()

    yield make
    for world in opened:
        await world.close()


@pytest.fixture
async def both_channels(
    make_world: Callable[..., Any],
    database_url: str,
    tg: FakeTelegram,
    line: LineApiFake,
    telegram_server: tuple[LocalServer, Swappable],
    line_server: tuple[LocalServer, Swappable],
) -> Any:
    """One running app with Telegram (webhook mode) and LINE, on the test database."""
    from tests.e2e.world import world_settings

    settings = world_settings(
        database_url, telegram=telegram_server[0], webhook=True, line=line_server[0]
    )
    return await make_world(settings, tg=tg, line=line)
