"""Drive the real engine, handlers and database through a recording channel."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.bootstrap import App, build, start, stop
from bot.channels.base import Delivery, Limits, RetryLater
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.uow import Database
from bot.engine.core import EventHandler
from bot.engine.events import Inbound, Kind, typed
from bot.engine.replies import Reply
from handlers import admin, followups
from handlers import handle as route_event


class RecordingChannel:
    """A channel that keeps what it was asked to send, per chat."""

    name = "test"
    limits = Limits(
        messages_per_second=1000.0,
        per_chat_interval=0.0,
    )

    def __init__(self) -> None:
        self.sent: dict[str, list[Reply]] = {}
        self.deliveries: list[Delivery] = []
        self.held: set[str] = set()  # chats whose sends fail with RetryLater (a flaky network)

    async def send(self, delivery: Delivery) -> None:
        if delivery.chat_id in self.held:
            raise RetryLater("held by the test", after=60.0)
        self.deliveries.append(delivery)
        self.sent.setdefault(delivery.chat_id, []).extend(delivery.messages)


@dataclass
class Counselor:
    id: int
    user: str


class Harness:
    def __init__(self, app: App, channel: RecordingChannel, clock: ManualClock) -> None:
        self.app, self.channel, self.clock = app, channel, clock
        self.engine = app.engine
        self._ids = itertools.count(1)

    @classmethod
    async def create(
        cls, database_url: str, *, handle: EventHandler = route_event, **overrides: Any
    ) -> Harness:
        settings = load_settings(database_url=database_url, default_locale="en", **overrides)
        channel = RecordingChannel()
        clock = ManualClock()
        app = build(settings, clock=clock, channels={"test": channel}, handle=handle)
        await start(app, with_scheduler=False)
        return cls(app, channel, clock)

    async def close(self) -> None:
        await stop(self.app)

    # -- talking ----------------------------------------------------------------------
    def event(self, user: str, line: str = "", **fields: Any) -> Inbound:
        base: dict[str, Any] = {
            "channel": "test",
            "event_id": f"e{next(self._ids)}",
            "user_id": user,
            "chat_id": user,
            "received_at": self.clock.now(),
        }
        base.update(fields)
        if "kind" in base:
            return Inbound(**base)
        base.setdefault("message_id", base["event_id"])
        return typed(line, **base)  # as every channel does

    async def send(self, event: Inbound) -> list[Reply]:
        """Hand an event to the engine, wait until handled, return what its sender got."""
        before = len(self.channel.sent.get(event.chat_id, []))
        await self.engine.receive(event)
        await self.engine.drain()
        return self.channel.sent.get(event.chat_id, [])[before:]

    async def say(self, user: str, line: str, **fields: Any) -> list[Reply]:
        return await self.send(self.event(user, line, **fields))

    async def press(self, user: str, label: str) -> list[Reply]:
        """Press the button with this label on the last keyboard the user got."""
        for message in reversed(self.channel.sent.get(user, [])):
            for button in message.buttons:
                if button.label == label or button.label.endswith(label):
                    return await self.send(self.event(user, kind=Kind.CHOICE, data=button.data))
        raise AssertionError(f"no button {label!r} for {user}")

    def texts(self, user: str) -> list[str]:
        return [m.text for m in self.channel.sent.get(user, [])]

    def last(self, user: str) -> Reply:
        return self.channel.sent[user][-1]

    # -- set-up shortcuts ---------------------------------------------------------------
    async def counselor(self, name: str = "Sato", locale: str = "en") -> Counselor:
        counselor_id, code = await admin.add_counselor(
            self.engine, name=name, locale=locale, is_admin=False
        )
        user = f"c{counselor_id}"
        await self.say(user, f"/start {code}")
        return Counselor(counselor_id, user)

    async def student(
        self,
        counselor: Counselor,
        user: str,
        *,
        name: str = "Linh",
        locale: str = "en",
        consent: bool = True,
    ) -> int:
        code = await admin.create_invite(self.engine, counselor_id=counselor.id, label=name)
        await self.say(user, f"/start {code}", locale_hint=locale)
        async with self.engine.db.uow() as uow:
            account = await uow.accounts.find("test", user)
            assert account is not None and account.student_id is not None
            student_id = account.student_id
        if consent:
            await self.send(self.event(user, kind=Kind.CHOICE, data=f"lang:{locale}"))
            await self.send(self.event(user, kind=Kind.CHOICE, data="consent:yes"))
        return student_id

    async def session(self, counselor: Counselor, student_id: int, topics: str = "visa") -> None:
        """Log a session with these topics; "" logs one without topics (the picker /session
        N opens, Done with nothing ticked)."""
        await self.say(counselor.user, f"/session {student_id} {topics}".rstrip())
        if not topics:
            await self.press(counselor.user, "Done")

    async def advance(self, delta: timedelta) -> None:
        """Move the clock and run what the scheduler would run."""
        self.clock.advance(delta)
        await self.tick()

    async def tick(self) -> None:
        for job in (followups.expire_runs, followups.start_due_runs, followups.send_reminders):
            await self.engine.run_job(job)
        await self.app.dispatcher.tick()


async def seed_consented_students(
    db: Database, now: datetime, chats: dict[str, tuple[str, ...]]
) -> tuple[int, dict[str, int]]:
    """A counselor and one consented student per chat id ({channel: chats}).
    Returns the counselor's id and the students' ids by chat."""
    students: dict[str, int] = {}
    async with db.uow() as uow:
        counselor = await uow.counselors.add(
            name="Sato", locale="en", timezone="Asia/Tokyo", is_admin=False, now=now
        )
        for channel, channel_chats in chats.items():
            for chat in channel_chats:
                student = await uow.students.add(
                    counselor_id=counselor.id, label=chat, locale="en", timezone="UTC", now=now
                )
                student.consent = "given"
                await uow.accounts.add(
                    channel=channel, external_id=chat, chat_id=chat, now=now, student_id=student.id
                )
                students[chat] = student.id
        await uow.commit()
        return counselor.id, students
