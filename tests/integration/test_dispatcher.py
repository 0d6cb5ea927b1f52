"""The outbox dispatcher through the real PTB and line-bot-sdk, against the fake Telegram and
LINE servers on 127.0.0.1, with injected 429s, 5xx answers and timeouts."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from bot import cli
from bot.bootstrap import App, build, start, stop
from bot.channels.line import LineChannel
from bot.channels.telegram import TelegramChannel
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.models import OutboxMessage
from bot.engine.events import Inbound, Kind
from bot.engine.outbox_writer import enqueue
from bot.engine.replies import Recipient, Reply
from bot.scheduling.dispatcher import MAX_ATTEMPTS, OutboxDispatcher
from handlers import admin
from tests.fakes.line_api import LineApiFake
from tests.fakes.server import LocalServer, Swappable
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import seed_consented_students

TG_TOKEN = "123456:TEST-dispatch-token"
LINE_TOKEN = "test-access-token"
TG_CHATS = ("1001", "1002", "1003")
LINE_CHATS = ("U" + "a" * 32, "U" + "b" * 32)
TIMEOUT = 1.0  # seconds per API call in these tests; a fake "slow" answer takes longer
SLOW = 1.6


class NoInbound:
    async def receive(self, event: Inbound) -> bool:
        raise AssertionError("these tests only send")


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[LocalServer, Swappable, LocalServer, Swappable]]:
    tg, line = Swappable(), Swappable()
    with LocalServer(tg) as tg_server, LocalServer(line) as line_server:
        yield tg_server, tg, line_server, line


@dataclass
class World:
    app: App
    clock: ManualClock
    tg: FakeTelegram
    line: LineApiFake
    students: dict[str, int] = field(default_factory=dict)  # chat id -> student id

    @property
    def dispatcher(self) -> OutboxDispatcher:
        return self.app.dispatcher

    async def queue(self, chat: str, *texts: str) -> None:
        """One outbox row per text, to the student of this chat, due now."""
        for text in texts:
            async with self.app.db.uow() as uow:
                reply = Reply(text=text, to=Recipient("student", self.students[chat]))
                await enqueue(uow, [reply], now=self.clock.now())
                await uow.commit()

    def texts(self, chat: str) -> list[str]:
        if chat in LINE_CHATS:
            return [m.text for m in self.line.all_messages(chat)]
        return [m.get("text", "") for m in self.tg.sent_messages(chat)]

    async def drive(self, done: Callable[[], bool], *, step: timedelta) -> int:
        """Tick, and move the clock on, until `done`; returns the ticks it took."""
        for ticks in range(1, 40):
            await self.dispatcher.tick()
            if done():
                return ticks
            self.clock.advance(step)
        raise AssertionError("not delivered")

    async def rows(self) -> list[OutboxMessage]:
        async with self.app.db.uow() as uow:
            rows = list((await uow.session.scalars(_all_rows())).all())
            uow.session.expunge_all()  # readable after the unit of work ends
            return rows


def _all_rows() -> Any:
    from sqlalchemy import select

    return select(OutboxMessage).order_by(OutboxMessage.id)


def numbered(chat: str, n: int) -> list[str]:
    return [f"message {i} to {chat[:5]}" for i in range(1, n + 1)]


async def make_world(
    database_url: str,
    servers: tuple[LocalServer, Swappable, LocalServer, Swappable],
    *,
    channels: bool = True,
    timeout: float = TIMEOUT,
    clock: Any = None,
    line_rate: float = 100.0,
    chat_spacing: bool = False,
) -> World:
    """The app with both channels against fresh fakes. A ManualClock unless `clock` is given
    (pass a SystemClock with `chat_spacing`: a chat's spacing counts real seconds)."""
    tg_server, tg_slot, line_server, line_slot = servers
    tg_fake, line_fake = FakeTelegram(TG_TOKEN), LineApiFake(access_token=LINE_TOKEN)
    tg_slot.app, line_slot.app = tg_fake.app, line_fake.app
    telegram = TelegramChannel(
        token=TG_TOKEN,
        sink=NoInbound(),
        api_url=f"{tg_server.url}/bot",
        webhook_url="https://bot.example/webhook/telegram",
        webhook_secret="dispatch-secret",
        request_timeout=timeout,
    )
    if not chat_spacing:
        # Telegram's one-message-a-second per chat is real; these tests do not wait for it.
        telegram.limits = dataclasses.replace(telegram.limits, per_chat_interval=0.0)
    line = LineChannel(
        channel_secret="test-channel-secret",
        access_token=LINE_TOKEN,
        sink=NoInbound(),
        api_url=line_server.url,
        messages_per_second=line_rate,
        request_timeout=timeout,
    )
    clock = clock or ManualClock()
    settings = load_settings(database_url=database_url, default_locale="en")
    app = build(settings, clock=clock, channels={"telegram": telegram, "line": line})
    await start(app, with_scheduler=False)
    world = World(app, clock, tg_fake, line_fake)
    _, students = await seed_consented_students(
        app.db, clock.now(), {"telegram": TG_CHATS, "line": LINE_CHATS}
    )
    world.students.update(students)
    return world


@pytest.fixture
async def world(
    database_url: str, servers: tuple[LocalServer, Swappable, LocalServer, Swappable]
) -> AsyncIterator[World]:
    built = await make_world(database_url, servers)
    try:
        yield built
    finally:
        await stop(built.app)


# -- Telegram ---------------------------------------------------------------------------


async def test_a_429_in_one_chat_does_not_stall_the_others(world: World) -> None:
    slow, other = TG_CHATS[0], TG_CHATS[1]
    world.tg.fail_next("sendMessage", status=429, retry_after=7, chat_id=slow)
    await world.queue(slow, *numbered(slow, 3))
    await world.queue(other, *numbered(other, 3))

    await world.dispatcher.tick()
    assert world.texts(other) == numbered(other, 3)  # all of it, in this very tick
    assert world.texts(slow) == []
    first = (await world.rows())[0]
    assert first.due_at == world.clock.now() + timedelta(seconds=7)  # retry_after honoured

    world.clock.advance(timedelta(seconds=6))
    await world.dispatcher.tick()
    assert world.texts(slow) == []  # its later messages wait their turn: order is kept
    world.clock.advance(timedelta(seconds=2))
    await world.dispatcher.tick()
    assert world.texts(slow) == numbered(slow, 3)


async def test_telegram_5xx_and_timeouts_are_retried_until_all_is_delivered(
    world: World,
) -> None:
    chat = TG_CHATS[0]
    world.tg.fail_next("sendMessage", status=500, times=2)
    world.tg.fail_next("sendMessage", status=502)
    await world.queue(chat, *numbered(chat, 4))
    await world.queue(TG_CHATS[1], *numbered(TG_CHATS[1], 2))
    await world.drive(
        lambda: len(world.texts(chat)) == 4 and len(world.texts(TG_CHATS[1])) == 2,
        step=timedelta(minutes=1),
    )
    assert world.texts(chat) == numbered(chat, 4)
    assert world.texts(TG_CHATS[1]) == numbered(TG_CHATS[1], 2)

    # A timeout: Telegram may have delivered it anyway, so a retry can show it twice.
    late = TG_CHATS[2]
    world.tg.delay_next("sendMessage", SLOW)
    await world.queue(late, "slow one", "after the slow one")
    await world.drive(lambda: "after the slow one" in world.texts(late), step=timedelta(minutes=1))
    await _settle(lambda: world.texts(late).count("slow one") == 2)
    assert world.texts(late) in (
        ["slow one", "slow one", "after the slow one"],  # the first answer arrived late
        ["slow one", "after the slow one", "slow one"],
    )
    assert all(r.status == "sent" for r in await world.rows())


async def test_a_blocked_telegram_user_becomes_unreachable_and_sending_stops(
    world: World,
) -> None:
    blocked, other = TG_CHATS[0], TG_CHATS[1]
    world.tg.block(blocked)
    await world.queue(blocked, *numbered(blocked, 3))
    await world.queue(other, *numbered(other, 2))
    await world.dispatcher.tick()
    assert world.texts(other) == numbered(other, 2)
    attempts = [c for c in world.tg.calls("sendMessage") if str(c.get("chat_id")) == blocked]
    assert len(attempts) == 1  # the first 403 stops the rest
    async with world.app.db.uow() as uow:
        student = await uow.students.get(world.students[blocked])
        assert student is not None and not student.reachable
        assert (
            await enqueue(
                uow,
                [Reply(text="later", to=Recipient("student", student.id))],
                now=world.clock.now(),
            )
            == []
        )  # nothing more is even queued
    statuses = [r.status for r in await world.rows() if r.chat_id == blocked]
    assert statuses == ["failed", "cancelled", "cancelled"]
    world.clock.advance(timedelta(hours=1))
    await world.dispatcher.tick()
    assert len(world.tg.calls("sendMessage")) == 3  # 1 refused + 2 to the other chat


# -- LINE -------------------------------------------------------------------------------


async def test_line_429_5xx_and_timeouts_deliver_everything_exactly_once(world: World) -> None:
    first, second = LINE_CHATS
    world.line.fail_next("push", 429, retry_after=1)  # the channel waits a second
    world.line.fail_next("push", 500, times=2)
    await world.queue(first, *numbered(first, 4))
    await world.queue(second, *numbered(second, 4))
    await world.drive(
        lambda: all(len(world.texts(c)) == 4 for c in LINE_CHATS), step=timedelta(minutes=1)
    )
    assert world.texts(first) == numbered(first, 4)
    assert world.texts(second) == numbered(second, 4)

    # A timeout after LINE accepted the push: the retry carries the same X-Line-Retry-Key,
    # so whichever of the two LINE handles second is refused with 409 and shows nothing.
    world.line.delay_next("push", SLOW)
    await world.queue(first, "slow one")
    await world.drive(lambda: "slow one" in world.texts(first), step=timedelta(minutes=1))
    await _all_answered(world)
    assert world.texts(first) == [*numbered(first, 4), "slow one"]
    statuses = [r.status for r in world.line.requests("push")]
    keys = [r.retry_key for r in world.line.requests("push")]
    assert statuses.count(409) == 1
    assert len(keys) == len(set(keys)) + 4  # one key per row, reused by every retry
    assert all(r.status == "sent" for r in await world.rows())


async def test_a_failed_reply_is_retried_as_a_push_never_twice(world: World) -> None:
    chat = LINE_CHATS[0]
    token = world.line.issue_reply_token(chat)
    world.line.fail_next("reply", 500)
    await _answer_event(world, chat, token, ["thanks", "next question"])
    assert world.texts(chat) == []
    async with world.app.db.uow() as uow:
        row = (await uow.session.scalars(_all_rows())).all()[-1]
        assert row.reply_token == ""  # a reply token is offered once
    world.clock.advance(timedelta(seconds=10))  # the token would still be fresh
    await world.dispatcher.tick()
    assert [m.via for m in world.line.all_messages(chat)] == ["push", "push"]
    assert world.texts(chat) == ["thanks", "next question"]
    assert len(world.line.requests("reply")) == 1


async def test_a_reply_that_went_out_is_not_repeated_by_the_retry(world: World) -> None:
    chat = LINE_CHATS[0]
    token = world.line.issue_reply_token(chat)
    long_text = "word " * 1200  # two LINE messages: six in all, so a reply and a push
    world.line.fail_next("push", 500)
    await _answer_event(world, chat, token, [long_text, "b", "c", "d", "e"])
    assert [m.via for m in world.line.all_messages(chat)] == ["reply"] * 5
    world.clock.advance(timedelta(minutes=1))
    await world.dispatcher.tick()
    assert [m.via for m in world.line.all_messages(chat)] == ["reply"] * 5 + ["push"]
    assert world.texts(chat)[-1] == "e"


# -- giving up, and the CLI -------------------------------------------------------------


async def test_after_max_attempts_a_row_is_failed_visible_and_retryable(
    world: World, database_url: str
) -> None:
    chat = LINE_CHATS[1]
    world.line.fail_next("push", 503, times=MAX_ATTEMPTS)
    await world.queue(chat, "persistent")
    for _ in range(MAX_ATTEMPTS):
        await world.dispatcher.tick()
        world.clock.advance(timedelta(minutes=30))
    [row] = await world.rows()
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert "503" in row.last_error

    status = await _cli(database_url, "outbox", "--json")
    assert status["counts"] == {"failed": 1}
    assert status["failed"][0]["channel"] == "line"
    assert "persistent" not in json.dumps(status)  # never the text
    text = await _cli(database_url, "outbox", raw=True)
    assert "failed: 1" in text and "furikaeri outbox retry" in text
    assert await _cli(database_url, "outbox", "retry", "--json") == {"requeued": 1}

    world.clock.set(max(world.clock.now(), datetime.now(UTC)) + timedelta(seconds=1))
    await world.dispatcher.tick()  # (the CLI queued it "now" by the wall clock)
    assert world.texts(chat) == ["persistent"]
    assert (await admin.outbox_status(world.app.engine))["counts"] == {"sent": 1}


async def test_being_throttled_is_not_a_failure(world: World) -> None:
    chat = LINE_CHATS[0]
    # A LINE 429 also holds the whole channel back for that long, in real time: keep it short.
    world.line.fail_next("push", 429, retry_after=0.2, times=MAX_ATTEMPTS + 2)
    await world.queue(chat, "patient")
    ticks = await world.drive(lambda: world.texts(chat) == ["patient"], step=timedelta(seconds=2))
    assert ticks == MAX_ATTEMPTS + 3  # retried when LINE said, however often
    assert [r.status for r in await world.rows()] == ["sent"]


async def test_a_process_without_channels_queues_and_leaves_sending_to_the_bot(
    world: World, database_url: str
) -> None:
    settings = load_settings(database_url=database_url, default_locale="en")
    cli_app = build(settings, clock=world.clock, channels={})  # as `furikaeri session` does
    try:
        result = await admin.log_session(
            cli_app.engine,
            counselor_id=1,
            student_id=world.students[TG_CHATS[0]],
            topics=["visa"],
        )
    finally:
        await cli_app.db.dispose()
    assert result["queued_messages"] == 2
    assert {r.status for r in await world.rows()} == {"pending"}  # not "failed"
    await world.dispatcher.tick()
    assert len(world.texts(TG_CHATS[0])) == 2


# -- several dispatchers ----------------------------------------------------------------


@pytest.fixture
async def patient_world(
    database_url: str, servers: tuple[LocalServer, Swappable, LocalServer, Swappable]
) -> AsyncIterator[World]:
    """A world whose API calls never time out in practice: for tests about claims, where a
    timeout on a loaded machine would only add a retry and blur what is being tested."""
    built = await make_world(database_url, servers, timeout=10.0)
    try:
        yield built
    finally:
        await stop(built.app)


async def test_dispatchers_racing_on_one_database_send_each_message_once(
    patient_world: World,
) -> None:
    world = patient_world
    others = [
        OutboxDispatcher(db=world.app.db, channels=world.app.channels, clock=world.clock)
        for _ in range(2)
    ]
    world.tg.delay_next("sendMessage", 0.02, times=100)
    for _ in range(10):
        world.line.delay_next("push", 0.02)
    for chat in (*TG_CHATS, *LINE_CHATS):
        await world.queue(chat, *numbered(chat, 5))
    await asyncio.gather(world.dispatcher.tick(), *(d.tick() for d in others))
    for chat in (*TG_CHATS, *LINE_CHATS):
        assert world.texts(chat) == numbered(chat, 5)
    sent = [world.dispatcher.stats["sent"], *(d.stats["sent"] for d in others)]
    assert sum(sent) == 25


# -- helpers ----------------------------------------------------------------------------


async def _answer_event(world: World, chat: str, token: str, texts: list[str]) -> None:
    """Queue replies to a LINE event that brought this reply token, and send them now."""
    event = Inbound(
        channel="line",
        event_id=f"ev-{token[:8]}",
        kind=Kind.TEXT,
        user_id=chat,
        chat_id=chat,
        text="hello",
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
        )
        await uow.commit()
    await world.dispatcher.send_now(due)


async def _all_answered(world: World) -> None:
    """Wait until the fake LINE has answered every push the dispatcher made (one per attempt),
    the slow one included."""
    deadline = asyncio.get_running_loop().time() + 5
    while asyncio.get_running_loop().time() < deadline:
        attempts = sum(r.attempts for r in await world.rows() if r.channel == "line")
        if len(world.line.requests("push")) >= attempts:
            return
        await asyncio.sleep(0.02)


async def _settle(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until a late answer of a fake server has landed (not a timing assertion)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.02)


async def _cli(database_url: str, *args: str, raw: bool = False) -> Any:
    """Run `furikaeri ARGS` (its own event loop, in a thread) against this database."""
    env = {"FURIKAERI_DATABASE_URL": database_url, "FURIKAERI_LOG_LEVEL": "WARNING"}
    result = await asyncio.to_thread(CliRunner().invoke, cli.app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output if raw else json.loads(result.output)
