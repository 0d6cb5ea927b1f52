"""Nothing lost, nothing twice: the inbox dedupes, one student's events run in order."""

from __future__ import annotations

import asyncio

import pytest

from bot.bootstrap import build, start, stop
from bot.channels.base import Delivery
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.migrate import upgrade
from bot.db.models import InboxEvent
from bot.engine import core
from bot.engine.events import Kind, typed
from tests.harness import Harness, RecordingChannel
from tests.stored import rows_of


async def _answers(harness: Harness, student_id: int) -> list[str]:
    async with harness.engine.db.uow() as uow:
        return [a.text or "" for a in await uow.answers.of_student(student_id)]


async def _reflection_started(harness: Harness) -> tuple[int, object]:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    return student_id, counselor


async def test_the_same_event_twice_is_handled_once(harness: Harness) -> None:
    student_id, _ = await _reflection_started(harness)
    event = harness.event("s1", "Interviews, I think")
    assert await harness.engine.receive(event) is True
    assert await harness.engine.receive(event) is False
    await harness.engine.drain()
    assert await _answers(harness, student_id) == ["Interviews, I think"]
    assert sum("(2/7)" in text for text in harness.texts("s1")) == 1


async def test_two_quick_presses_advance_the_question_once(harness: Harness) -> None:
    student_id, _ = await _reflection_started(harness)
    data = harness.last("s1").buttons[0].data
    first = harness.event("s1", kind=Kind.CHOICE, data=data)
    second = harness.event("s1", kind=Kind.CHOICE, data=data)
    await asyncio.gather(harness.engine.receive(first), harness.engine.receive(second))
    await harness.engine.drain()
    async with harness.engine.db.uow() as uow:
        run = await uow.runs.active_of(student_id)
        assert run is not None and run.step == 1
        assert len(await uow.answers.of_student(student_id)) == 1
    assert any("closed" in text for text in harness.texts("s1"))


async def test_quick_text_answers_are_all_kept_in_arrival_order(harness: Harness) -> None:
    student_id, _ = await _reflection_started(harness)
    # Each receive returns once the event is committed; handling runs in background tasks
    # that race for the student's lock, and must still take the events in arrival order.
    for n in range(2):
        await harness.engine.receive(harness.event("s1", f"answer {n}"))
    await harness.engine.drain()
    assert await _answers(harness, student_id) == ["answer 0", "answer 1"]
    async with harness.engine.db.uow() as uow:
        run = await uow.runs.active_of(student_id)
        assert run is not None and run.step == 2


async def test_events_left_unhandled_are_picked_up_at_start(harness: Harness) -> None:
    student_id, _ = await _reflection_started(harness)
    # Received (committed to the inbox) but not handled, as if the process died here.
    event = harness.event("s1", "written just before a crash")
    async with harness.engine.db.uow() as uow:
        await uow.inbox.add(
            channel=event.channel,
            event_id=event.event_id,
            sender="test:s1",
            payload=event.to_json(),
            now=harness.clock.now(),
        )
        await uow.commit()
    await harness.engine.process_pending()
    assert await _answers(harness, student_id) == ["written just before a crash"]


async def test_answers_beyond_what_is_handed_over_in_memory_are_read_back_in_order(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A flood: past HANDED_OVER_MAX the engine stops handing new events over in memory
    # and reads them back from the inbox; order and exactly-once must hold across both.
    monkeypatch.setattr(core, "HANDED_OVER_MAX", 2)
    student_id, _ = await _reflection_started(harness)
    for n in range(5):
        await harness.engine.receive(harness.event("s1", f"answer {n}"))
    await harness.engine.drain()
    assert await _answers(harness, student_id) == [f"answer {n}" for n in range(5)]
    async with harness.engine.db.uow() as uow:
        assert await uow.inbox.pending_senders() == []


class SlowToStart(RecordingChannel):
    """A channel that starts when the test says so (the LINE SDK is imported then)."""

    def __init__(self) -> None:
        super().__init__()
        self.may_start = asyncio.Event()
        self.started = False
        self.sent_before_start = False

    async def start(self, *, receive: bool = True, send: bool = True) -> None:
        await self.may_start.wait()
        self.started = True

    async def send(self, delivery: Delivery) -> None:
        self.sent_before_start |= not self.started
        await super().send(delivery)


async def test_an_event_taken_while_the_channels_start_is_answered_once_they_have(
    database_url: str,
) -> None:
    settings = load_settings(database_url=database_url, default_locale="en", _env_file=None)
    channel = SlowToStart()
    app = build(settings, clock=ManualClock(), channels={"test": channel})
    await upgrade(app.db.engine)
    starting = asyncio.create_task(start(app, migrate=False, with_scheduler=False))
    try:
        # The web server is up and takes a message while the channel is still starting.
        event = typed(
            "hello",
            channel="test",
            event_id="e1",
            user_id="u1",
            chat_id="u1",
            message_id="e1",
            received_at=app.engine.clock.now(),
        )
        assert await app.engine.receive(event) is True
        await asyncio.sleep(0.3)
        assert channel.deliveries == []
        assert [row.status for row in await rows_of(app.db, InboxEvent)] == ["pending"]

        channel.may_start.set()
        await starting
        await app.engine.drain()

        assert not channel.sent_before_start
        assert [d.chat_id for d in channel.deliveries] == ["u1"]  # answered, once
        assert [row.status for row in await rows_of(app.db, InboxEvent)] == ["done"]
    finally:
        channel.may_start.set()
        await asyncio.gather(starting, return_exceptions=True)
        await stop(app)
