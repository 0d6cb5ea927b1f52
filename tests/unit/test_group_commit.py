"""The inbox's group commit when the database fails: every webhook waiting is told, and a
webhook whose request went away meanwhile leaves nothing behind in the logs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest

from bot.clock import SystemClock
from bot.db.repo_messaging import NewEvent
from bot.db.uow import Database
from bot.engine.intake import GroupCommit


class Unreachable:
    """A database whose server is down; `meanwhile` runs just after a connection fails,
    before the webhooks waiting for it have seen the error."""

    def __init__(self) -> None:
        self.meanwhile: list[Callable[[], object]] = []

    @contextlib.asynccontextmanager
    async def intake(self) -> AsyncIterator[Any]:
        for call in self.meanwhile:
            asyncio.get_running_loop().call_soon(call)
        raise ConnectionRefusedError("database down")
        yield  # (unreachable: a generator)


def _event(n: int) -> NewEvent:
    return NewEvent("line", f"event-{n}", "line:U1", {"raw": {}})


async def test_when_the_write_fails_every_waiting_webhook_fails_and_a_gone_one_leaves_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unhandled: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: unhandled.append(context))
    database = Unreachable()
    intake = GroupCommit(cast(Database, database), SystemClock())
    staying = asyncio.create_task(intake.add([_event(1)]))
    leaving = asyncio.create_task(intake.add([_event(2)]))
    database.meanwhile.append(leaving.cancel)  # its request goes away as the database fails
    with pytest.raises(ConnectionRefusedError):
        await staying
    with pytest.raises(asyncio.CancelledError):
        await leaving
    del leaving
    gc.collect()
    await asyncio.sleep(0)
    assert unhandled == []  # no "Future exception was never retrieved"
    assert "inbox.write_failed" in caplog.text
