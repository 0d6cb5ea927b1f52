"""Sending at the platform's pace: through the real PTB and line-bot-sdk against fakes that
enforce the platforms' rate limits (tests/fakes/limits.py).

A backlog of pushes must not delay free LINE replies nor make anything time out and go
twice; dispatchers sharing one database share one rate and one spacing per chat; the
reply path does not claim what it just wrote, and does not re-read what it sends."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.bootstrap import stop
from bot.clock import SystemClock
from bot.db.models import OutboxMessage
from bot.engine.events import Inbound, Kind
from bot.engine.outbox_writer import enqueue
from bot.engine.replies import Reply
from bot.scheduling.dispatcher import OutboxDispatcher
from tests.fakes.server import LocalServer, Swappable
from tests.harness import seed_consented_students
from tests.integration.test_dispatcher import (
    LINE_CHATS,
    TG_CHATS,
    World,
    _answer_event,
    make_world,
    numbered,
)

Servers = tuple[LocalServer, Swappable, LocalServer, Swappable]
BACKLOG_CHATS = tuple(f"U{n:032x}" for n in range(1, 21))


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    tg, line = Swappable(), Swappable()
    with LocalServer(tg) as tg_server, LocalServer(line) as line_server:
        yield tg_server, tg, line_server, line


@pytest.fixture
async def opened() -> AsyncIterator[list[World]]:
    worlds: list[World] = []
    yield worlds
    for world in worlds:
        await stop(world.app)


async def test_a_backlog_of_pushes_neither_holds_up_replies_nor_times_out_a_send(
    database_url: str, servers: Servers, opened: list[World]
) -> None:
    """Pushes wait for their turn (5 a second) before the send is timed, never inside it;
    replies are free and need no turn at all."""
    world = await make_world(database_url, servers, line_rate=5.0, timeout=10.0)
    opened.append(world)
    world.app.dispatcher.lease = timedelta(seconds=4)  # a send may take 2 s, the wait longer
    pushes = world.line.enforce_push_limit(6.0, burst=2)
    _, backlog = await seed_consented_students(
        world.app.db, world.clock.now(), {"line": BACKLOG_CHATS}
    )
    world.students.update(backlog)
    for chat in BACKLOG_CHATS:  # 20 pushes: four seconds at 5 a second
        await world.queue(chat, f"push to {chat[:6]}")

    draining = asyncio.create_task(world.dispatcher.tick())
    await asyncio.sleep(0.3)
    for chat in LINE_CHATS:  # students answer while the backlog drains
        token = world.line.issue_reply_token(chat)
        await _answer_event(world, chat, token, ["thanks", "next question"])
        assert [m.via for m in world.line.all_messages(chat)] == ["reply", "reply"]
    assert not draining.done()  # the replies did not wait for the backlog
    await draining

    for chat in BACKLOG_CHATS:
        assert _line_texts(world, chat) == [f"push to {chat[:6]}"]
    rows = await world.rows()
    assert {r.status for r in rows} == {"sent"}
    assert {r.attempts for r in rows} == {1}  # nothing timed out and went again
    assert world.dispatcher.stats["timed_out"] == 0
    assert pushes.refused == 0


async def test_two_dispatchers_on_one_database_share_the_bots_rate_and_each_chats_spacing(
    database_url: str, servers: Servers, opened: list[World]
) -> None:
    """Telegram allows ~30 messages a second per bot and ~1 a second per chat (here 20 and
    1, each with a small burst): two dispatchers together stay under both."""
    world = await make_world(
        database_url, servers, clock=SystemClock(), chat_spacing=True, timeout=10.0
    )
    opened.append(world)
    telegram = world.app.channels["telegram"]
    telegram.limits = dataclasses.replace(telegram.limits, messages_per_second=18.0)
    limits = world.tg.enforce_limits(per_bot=20.0, bot_burst=3, per_chat=1.0, chat_burst=3)
    first, second = (
        OutboxDispatcher(db=world.app.db, channels=world.app.channels, clock=world.clock)
        for _ in range(2)
    )
    many = tuple(str(3000 + n) for n in range(60))
    _, more = await seed_consented_students(world.app.db, world.clock.now(), {"telegram": many})
    world.students.update(more)
    for chat in TG_CHATS:  # six to each of three chats: a burst of three, then one a second
        await world.queue(chat, *numbered(chat, 6))
    for chat in many:  # and one to each of sixty: the bot's rate
        await world.queue(chat, "hello")

    await asyncio.gather(first.tick(), second.tick())

    for chat in TG_CHATS:
        assert world.texts(chat) == numbered(chat, 6)  # each once, in order
    assert all(_tg_texts(world, chat) == ["hello"] for chat in many)
    assert limits.refused == 0, limits.refusals
    assert first.stats["sent"] + second.stats["sent"] == 78


async def test_a_line_reply_is_sent_without_claiming_it_and_a_batch_without_rereading_it(
    database_url: str, servers: Servers, opened: list[World]
) -> None:
    world = await make_world(database_url, servers)
    opened.append(world)
    statements = _statements(world)

    chat = LINE_CHATS[0]
    await _answer(world, chat, ["thanks", "next"])
    assert [m.via for m in world.line.all_messages(chat)] == ["reply", "reply"]
    claims = [s for s in statements if s.startswith("UPDATE outbox") and "outbox.attempts +" in s]
    assert claims == []  # written already claimed, by the transaction that queued it
    [row] = await world.rows()
    assert (row.status, row.attempts, row.reply_token) == ("sent", 1, "")

    # 120 rows due now, each to its own chat: claimed in a few batches, never one by one.
    chats = tuple(f"U{n:032x}" for n in range(100, 220))
    _, more = await seed_consented_students(world.app.db, world.clock.now(), {"line": chats})
    world.students.update(more)
    for chat in chats:
        await world.queue(chat, "hello")
    async with world.app.db.uow() as uow:
        query = select(OutboxMessage.id).where(OutboxMessage.status == "pending")
        ids = list((await uow.session.scalars(query)).all())
    statements.clear()
    await world.dispatcher.send_now(ids)
    assert all(_line_texts(world, chat) == ["hello"] for chat in chats)
    reads = [s for s in statements if s.startswith("SELECT") and "FROM outbox" in s]
    # About 30 (claims in batches, and looks while the push rate holds rows back; more on a
    # busy machine, as the pacing is timed); the old rounds re-read every row: ~200 reads.
    assert len(reads) <= 60, len(reads)


def _tg_texts(world: World, chat: str) -> list[str]:
    return [m.get("text", "") for m in world.tg.sent_messages(chat)]


def _line_texts(world: World, chat: str) -> list[str]:
    return [m.text for m in world.line.all_messages(chat)]


def _statements(world: World) -> list[str]:
    """Every SQL statement the app runs from now on."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(world.app.db.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def _answer(world: World, chat: str, texts: list[str]) -> None:
    """Replies to a LINE event, queued as the engine queues them (the reply row written
    already claimed), and sent at once."""
    token = world.line.issue_reply_token(chat)
    event = Inbound(
        channel="line",
        event_id=f"ev-{token[:8]}",
        kind=Kind.TEXT,
        user_id=chat,
        chat_id=chat,
        text="my answer",
        reply_token=token,
        received_at=world.clock.now(),
    )
    async with world.app.db.uow() as uow:
        due = await enqueue(
            uow,
            [Reply(text=text) for text in texts],
            now=world.clock.now(),
            event=event,
            sender_student_id=world.students[chat],
            reply_lease=world.dispatcher.reply_lease("line"),
        )
        await uow.commit()
    await world.dispatcher.send_now(due)
