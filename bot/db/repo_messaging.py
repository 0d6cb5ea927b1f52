"""Repositories for the inbox, the outbox and conversation state."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from bot.db.models import ConversationState, InboxEvent, OutboxConcern, OutboxMessage, Student
from bot.db.states import InboxState, OutboxState

# The PostgreSQL notification channel new inbox rows are announced on (by a trigger).
NOTIFY_CHANNEL = "furikaeri_inbox"


@dataclass(frozen=True)
class ClaimedMessage:
    """What one attempt needs of a claimed outbox row (plain data, read as it was claimed)."""

    id: int
    channel: str
    chat_id: str
    student_id: int | None
    attempts: int  # counting this one
    idempotency_key: str
    payload: dict[str, Any] | None
    reply_token: str = ""  # only while fresh, and only on the attempt that claimed it


_CLAIMED_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.channel,
    OutboxMessage.chat_id,
    OutboxMessage.student_id,
    OutboxMessage.attempts,
    OutboxMessage.idempotency_key,
    OutboxMessage.payload,
    OutboxMessage.due_at,
)


@dataclass(frozen=True)
class ChatPacing:
    """At most `burst` messages to one chat in any `burst * interval` (Telegram: about one a
    second per chat), counted from the database, so every process sees the others' sends."""

    now: datetime
    interval: timedelta
    burst: int

    def allows(self) -> ColumnElement[bool]:
        sent = aliased(OutboxMessage)
        recent = (
            select(func.count(sent.id))
            .where(
                sent.channel == OutboxMessage.channel,
                sent.chat_id == OutboxMessage.chat_id,
                sent.status == "sent",
                sent.sent_at > self.now - self.interval * self.burst,
            )
            .scalar_subquery()
        )
        return recent < self.burst


def _claimable(now: datetime) -> ColumnElement[bool]:
    return and_(
        OutboxMessage.status == "pending",
        OutboxMessage.due_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def handled_sender(channel: str) -> str:
    """What a handled event keeps in place of its sender: the channel only."""
    return f"{channel}:handled"


@dataclass(frozen=True)
class NewEvent:
    """An event for the inbox: its key, whose it is, and what to keep until it is handled."""

    channel: str
    event_id: str
    sender: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class PendingEvent:
    """What handling needs of a pending inbox row (read with a Core statement)."""

    id: int
    channel: str
    sender: str
    payload: dict[str, Any] | None
    received_at: datetime


_PENDING_COLUMNS = (
    InboxEvent.id,
    InboxEvent.channel,
    InboxEvent.sender,
    InboxEvent.payload,
    InboxEvent.received_at,
)


_TABLE = cast(Table, InboxEvent.__table__)
# Built once: the intake runs them for every batch of webhooks. On SQLite:
_ADD_ON_SQLITE = (
    sqlite_insert(_TABLE)
    .on_conflict_do_nothing(index_elements=["channel", "event_id"])
    .returning(_TABLE.c.channel, _TABLE.c.event_id, _TABLE.c.id)
)
# The same on PostgreSQL, for asyncpg: arrays in, rows inserted in the order given (so
# ids follow arrival), keys already there skipped. The JSON goes in as the JSON type's text.
_ADD_ON_POSTGRESQL = """
INSERT INTO inbox (channel, event_id, sender, payload, status, received_at, attempts, last_error)
SELECT channel, event_id, sender, payload::json, 'pending', $5, 0, ''
FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::text[])
    WITH ORDINALITY AS given (channel, event_id, sender, payload, position)
ORDER BY position
ON CONFLICT (channel, event_id) DO NOTHING
RETURNING channel, event_id, id
"""

# On every event's path: built once (building a statement costs more than running it).
_PENDING_OF = (
    select(*_PENDING_COLUMNS)
    .where(InboxEvent.sender == bindparam("sender"), InboxEvent.status == InboxState.PENDING)
    .order_by(InboxEvent.id)
    .limit(bindparam("limit"))
)
_FINISH = (
    update(InboxEvent)
    .where(InboxEvent.id == bindparam("row_id"), InboxEvent.status == InboxState.PENDING)
    .values(
        status=InboxState.DONE,
        processed_at=bindparam("now"),
        attempts=InboxEvent.attempts + 1,
        payload=None,
        sender=bindparam("sender"),
    )
    .execution_options(synchronize_session=False)
)
_CHAT_WAITING = (
    select(OutboxMessage.id)
    .where(
        OutboxMessage.channel == bindparam("channel"),
        OutboxMessage.chat_id == bindparam("chat_id"),
        OutboxMessage.status == "pending",
        or_(
            OutboxMessage.due_at <= bindparam("now"),
            OutboxMessage.attempts > 0,
            OutboxMessage.claimed_until.is_not(None),
        ),
    )
    .limit(1)
)
_EXISTING_STUDENTS = select(Student.id).where(Student.id.in_(bindparam("ids", expanding=True)))
# One message (a reply): its concerns in one statement, for the students that still exist
# (a /forget in the same transaction may just have deleted the one it is written to).
_ADD_CONCERNS_OF_ONE = insert(cast(Table, OutboxConcern.__table__)).from_select(
    ["outbox_id", "student_id"],
    select(bindparam("outbox_id", type_=Integer), Student.id).where(
        Student.id.in_(bindparam("ids", expanding=True))
    ),
)
# Core, not the ORM's unit of work: a reply is written on every answer's path. Every row
# names every column (one multi-row INSERT needs the same columns in each).
_OUTBOX = cast(Table, OutboxMessage.__table__)
_ADD_OUTBOX = insert(_OUTBOX).returning(_OUTBOX.c.id, sort_by_parameter_order=True)
# Every delivery's: its row is sent (the text is not kept twice, nor a stranger's chat).
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(
        status=OutboxState.SENT,
        sent_at=bindparam("sent", type_=_OUTBOX.c.sent_at.type),
        claimed_until=None,
        payload=None,
        last_error="",
        chat_id=case((_OUTBOX.c.forget_chat, ""), else_=_OUTBOX.c.chat_id),
    )
)
_NEW_OUTBOX_ROW: dict[str, Any] = {
    "student_id": None,
    "run_id": None,
    "payload": None,
    "status": OutboxState.PENDING,
    "attempts": 0,
    "claimed_until": None,
    "last_error": "",
    "reply_token": "",
    "reply_token_expires_at": None,
    "forget_chat": False,
    "sent_at": None,
}


class InboxIntake:
    """The inbox's hot path, on a bare connection (no session, no ORM) in autocommit: the
    web side's group commit runs one statement per batch of webhooks, which is its own
    transaction. On PostgreSQL a trigger (migration 0008) announces the new rows on
    NOTIFY_CHANNEL with that commit."""

    def __init__(self, connection: AsyncConnection, *, held_between_batches: bool) -> None:
        self.c = connection
        # Whether the writer may keep this connection for its next batch (nobody else
        # waits for it: not SQLite's one connection).
        self.held_between_batches = held_between_batches

    async def add_many(
        self, events: Sequence[NewEvent], *, now: datetime
    ) -> dict[tuple[str, str], int]:
        """Insert the events in one statement, in order, skipping keys already there (also
        a key twice in `events`: the first one counts), and commit. Returns the keys
        inserted, with their row ids."""
        if self.c.dialect.name != "postgresql":
            return await _add_on_sqlite(self.c, events, now)
        events = _first_of_each_key(events)
        if not events:
            return {}
        # Run by asyncpg itself, on this autocommit connection: SQLAlchemy's layers around
        # a driver statement cost more than running it.
        arrays = _arrays(events, now)
        driver = (await self.c.get_raw_connection()).driver_connection
        assert driver is not None  # (a connection checked out of the pool has one)
        try:
            found = await driver.fetch(_ADD_ON_POSTGRESQL, *arrays)
        except Exception:
            # Again through SQLAlchemy: on a connection the server dropped it fails too,
            # and SQLAlchemy's error handling then discards every pooled connection opened
            # before it, so the next batch starts on a new one; any other error the
            # database gives again. A repeat is harmless (ON CONFLICT DO NOTHING).
            return await _add_on_postgresql(self.c, events, now)
        except BaseException:
            await self.c.invalidate()  # cancelled mid-statement: not a connection to reuse
            raise
        return {(channel, event_id): row_id for channel, event_id, row_id in found}


async def _add_on_postgresql(
    connection: AsyncConnection, events: Sequence[NewEvent], now: datetime
) -> dict[tuple[str, str], int]:
    """_ADD_ON_POSTGRESQL through SQLAlchemy (its transaction, its error handling)."""
    unique = _first_of_each_key(events)
    if not unique:
        return {}
    result = await connection.exec_driver_sql(_ADD_ON_POSTGRESQL, _arrays(unique, now))
    found = cast(list[tuple[str, str, int]], result.all())  # (untyped: a driver statement)
    return {(channel, event_id): row_id for channel, event_id, row_id in found}


async def _add_on_sqlite(
    connection: AsyncConnection, events: Sequence[NewEvent], now: datetime
) -> dict[tuple[str, str], int]:
    """The inbox INSERT as SQLAlchemy's one multi-row statement ("insertmanyvalues"),
    compiled once."""
    rows = [
        {
            "channel": event.channel,
            "event_id": event.event_id,
            "sender": event.sender,
            "payload": event.payload,
            "status": "pending",
            "received_at": now,
            "attempts": 0,
            "last_error": "",
        }
        for event in _first_of_each_key(events)
    ]
    if not rows:
        return {}
    result = await connection.execute(_ADD_ON_SQLITE, rows)
    return {(channel, event_id): row_id for channel, event_id, row_id in result.all()}


def _first_of_each_key(events: Sequence[NewEvent]) -> list[NewEvent]:
    """The events without a repeated (channel, event_id): the first one counts."""
    unique: dict[tuple[str, str], NewEvent] = {}
    for event in events:
        unique.setdefault((event.channel, event.event_id), event)
    return list(unique.values())


def _arrays(events: Sequence[NewEvent], now: datetime) -> tuple[Any, ...]:
    """_ADD_ON_POSTGRESQL's parameters: one array per column, the same text whatever the
    batch size (prepared once per connection)."""
    return (
        [event.channel for event in events],
        [event.event_id for event in events],
        [event.sender for event in events],
        [json.dumps(event.payload) for event in events],
        now,
    )


class Inbox:
    """The inbox, in Core statements: it is on every event's path."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(
        self, *, channel: str, event_id: str, sender: str, payload: dict[str, Any], now: datetime
    ) -> int | None:
        """Insert the event; its id, or None when (channel, event_id) is already there."""
        inserted = await self.add_many([NewEvent(channel, event_id, sender, payload)], now=now)
        return inserted.get((channel, event_id))

    async def add_many(
        self, events: Sequence[NewEvent], *, now: datetime
    ) -> dict[tuple[str, str], int]:
        """Insert the events in one statement (see InboxIntake.add_many)."""
        connection = await self.s.connection()
        if connection.dialect.name != "postgresql":
            return await _add_on_sqlite(connection, events, now)
        # Through SQLAlchemy: it begins the session's transaction at its first statement.
        return await _add_on_postgresql(connection, events, now)

    async def pending_senders(self, limit: int = 1000) -> list[str]:
        query = (
            select(InboxEvent.sender)
            .where(InboxEvent.status == InboxState.PENDING)
            .group_by(InboxEvent.sender)
            .order_by(func.min(InboxEvent.id))
            .limit(limit)
        )
        return list((await self.s.scalars(query)).all())

    async def pending_of(self, sender: str, limit: int = 50) -> list[PendingEvent]:
        """The sender's pending events, oldest first."""
        connection = await self.s.connection()  # (Core: no ORM layer on every event's path)
        rows = await connection.execute(_PENDING_OF, {"sender": sender, "limit": limit})
        return [PendingEvent(*row) for row in rows.all()]

    async def next_pending(self, sender: str) -> PendingEvent | None:
        found = await self.pending_of(sender, limit=1)
        return found[0] if found else None

    async def finish(self, event: PendingEvent, *, now: datetime) -> bool:
        """Mark handled. The payload (which may hold what the student typed) and the sender
        (a chat identity) are dropped. False when it was no longer pending."""
        values = {"row_id": event.id, "now": now, "sender": handled_sender(event.channel)}
        result = await (await self.s.connection()).execute(_FINISH, values)
        return bool(result.rowcount)

    async def fail(
        self, row_id: int, *, now: datetime, error: str, payload: dict[str, Any] | None = None
    ) -> int | None:
        """Mark a pending event failed, keeping a payload for the admin to retry (`payload`
        replaces the stored one: what handling it needs, no more). Returns the attempts so
        far; None when it is no longer pending (another process finished it meanwhile)."""
        values: dict[str, Any] = {
            "status": InboxState.FAILED,
            "processed_at": now,
            "attempts": InboxEvent.attempts + 1,
            "last_error": error[:64],
        }
        if payload is not None:
            values["payload"] = payload
        result = await self.s.execute(
            update(InboxEvent)
            .where(InboxEvent.id == row_id, InboxEvent.status == InboxState.PENDING)
            .values(**values)
            .returning(InboxEvent.attempts)
            .execution_options(synchronize_session=False)
        )
        attempts = result.scalar()
        return int(attempts) if attempts is not None else None

    async def pending_summary(self) -> tuple[int, datetime | None]:
        """How many events wait to be handled, and when the oldest of them arrived."""
        query = select(func.count(InboxEvent.id), func.min(InboxEvent.received_at)).where(
            InboxEvent.status == InboxState.PENDING
        )
        count, oldest = (await self.s.execute(query)).one()
        return int(count or 0), oldest

    async def unhandled(self, limit: int = 200) -> list[InboxEvent]:
        """Failed and pending events, oldest first (for `furikaeri inbox`)."""
        query = (
            select(InboxEvent)
            .where(InboxEvent.status.in_(("failed", "pending")))
            .order_by(InboxEvent.id)
            .limit(limit)
        )
        return list((await self.s.scalars(query)).all())

    async def unhandled_counts(self) -> dict[str, int]:
        query = (
            select(InboxEvent.status, func.count())
            .where(InboxEvent.status.in_(("failed", "pending")))
            .group_by(InboxEvent.status)
        )
        return {status: int(n) for status, n in (await self.s.execute(query)).all()}

    async def retry_failed(self, row_id: int | None = None) -> list[int]:
        """Make failed events pending again (one, or all), those whose payload is still
        kept; returns their ids. The engine handles pending events (bot/engine/core.py)."""
        query = select(InboxEvent).where(InboxEvent.status == InboxState.FAILED)
        if row_id is not None:
            query = query.where(InboxEvent.id == row_id)
        # In Python: a dropped payload is stored as JSON null, which SQL's IS NULL misses.
        rows = [row for row in await self.s.scalars(query) if row.payload is not None]
        for row in rows:
            row.status = InboxState.PENDING
            row.processed_at = None
        await self.s.flush()
        return [row.id for row in rows]

    async def forget_sender(self, sender: str) -> None:
        """Drop the payloads of a sender's failed events and unlink them from the sender
        (handled ones keep neither). Pending events stay as they are: they still need
        handling (as a stranger's), and lose both once handled."""
        channel = sender.split(":", 1)[0]
        await self.s.execute(
            update(InboxEvent)
            .where(InboxEvent.sender == sender, InboxEvent.status != InboxState.PENDING)
            .values(payload=None, sender=handled_sender(channel))
        )

    async def purge_payloads(self, cutoff: datetime) -> int:
        """Drop old payloads; a pending event keeps its own, or it could never be handled."""
        result = await self.s.execute(
            update(InboxEvent)
            .where(
                InboxEvent.received_at < cutoff,
                InboxEvent.payload.is_not(None),
                InboxEvent.status != InboxState.PENDING,
            )
            .values(payload=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def delete_handled_before(self, cutoff: datetime) -> int:
        """Forget handled events older than the cutoff (sender ids included)."""
        result = await self.s.execute(
            delete(InboxEvent).where(
                InboxEvent.received_at < cutoff, InboxEvent.status == InboxState.DONE
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Outbox:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, *, concerns: Collection[int] = (), **values: Any) -> int:
        """Queue a message, recording which students it concerns (those that exist); its id."""
        [row_id] = await self.add_many([values], concerns=[concerns])
        return row_id

    async def add_many(
        self, values: Sequence[dict[str, Any]], *, concerns: Sequence[Collection[int]]
    ) -> list[int]:
        """Queue messages (one INSERT for all), recording which students each concerns
        (those that exist): a scheduled job may queue hundreds at once. Their ids, in order."""
        if not values:
            return []
        rows = [{**_NEW_OUTBOX_ROW, **value} for value in values]
        connection = await self.s.connection()  # (Core: a reply is written on every answer)
        ids = list((await connection.execute(_ADD_OUTBOX, rows)).scalars().all())
        wanted = set().union(*concerns)
        if wanted and len(ids) == 1:
            await connection.execute(_ADD_CONCERNS_OF_ONE, {"outbox_id": ids[0], "ids": wanted})
        elif wanted:
            existing = set((await self.s.scalars(_EXISTING_STUDENTS, {"ids": wanted})).all())
            pairs = [
                {"outbox_id": row_id, "student_id": student_id}
                for row_id, students in zip(ids, concerns, strict=True)
                for student_id in sorted(set(students) & existing)
            ]
            if pairs:
                await self.s.execute(insert(OutboxConcern), pairs)
        return ids

    async def claim(
        self,
        *,
        now: datetime,
        lease: timedelta,
        limit: int,
        channels: Collection[str],
        ids: Collection[int] | None = None,
        pacing: ChatPacing | None = None,
    ) -> list[ClaimedMessage]:
        """Claim due rows of these channels: per chat only the oldest unsent one, so one
        chat's messages go out in order, one at a time. A row waiting for a retry keeps
        its place. With `pacing`, a chat that just got its burst of messages waits. Rows
        locked or claimed by another process are skipped; the final conditional update
        makes a claim exclusive on SQLite too.

        The claim takes the reply token off the row (a token is offered once: a retry goes
        out as a push) and hands it over only while it is fresh."""
        query = (
            self._ready(now=now, channels=channels, ids=ids)
            .add_columns(OutboxMessage.reply_token, OutboxMessage.reply_token_expires_at)
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
        )
        if pacing is not None:
            query = query.where(pacing.allows())
        if self.s.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
        tokens = {
            row_id: token if expires is not None and expires > now else ""
            for row_id, token, expires in (await self.s.execute(query)).all()
        }
        if not tokens:
            return []
        claim = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(tokens)), _claimable(now))
            .values(
                claimed_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
                reply_token="",
                reply_token_expires_at=None,
            )
            .returning(*_CLAIMED_COLUMNS)
            .execution_options(synchronize_session=False)
        )
        rows = (await self.s.execute(claim)).all()
        claimed = [
            ClaimedMessage(
                id=row.id,
                channel=row.channel,
                chat_id=row.chat_id,
                student_id=row.student_id,
                attempts=row.attempts,
                idempotency_key=row.idempotency_key,
                payload=row.payload,
                reply_token=tokens[row.id],
            )
            for row in rows
        ]
        order = {row.id: (row.due_at, row.id) for row in rows}
        return sorted(claimed, key=lambda c: order[c.id])

    async def ready(
        self, *, now: datetime, channels: Collection[str], ids: Collection[int] | None = None
    ) -> bool:
        """Whether a row could be claimed now (nothing about its chat's spacing)."""
        query = self._ready(now=now, channels=channels, ids=ids)
        return await self.s.scalar(query.limit(1)) is not None

    async def paced(
        self,
        *,
        now: datetime,
        channels: Collection[str],
        pacing: ChatPacing,
        ids: Collection[int] | None = None,
    ) -> bool:
        """Whether a due row waits only because its chat just got its burst of messages."""
        query = self._ready(now=now, channels=channels, ids=ids).where(~pacing.allows())
        return await self.s.scalar(query.limit(1)) is not None

    def _ready(
        self, *, now: datetime, channels: Collection[str], ids: Collection[int] | None
    ) -> Select[Any]:
        older = aliased(OutboxMessage)
        blocked_by_older = exists().where(
            and_(
                older.channel == OutboxMessage.channel,
                older.chat_id == OutboxMessage.chat_id,
                older.status == OutboxState.PENDING,
                older.id < OutboxMessage.id,
                or_(older.due_at <= now, older.attempts > 0),
            )
        )
        query = select(OutboxMessage.id).where(
            _claimable(now), OutboxMessage.channel.in_(list(channels)), ~blocked_by_older
        )
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(list(ids)))
        return query

    async def chat_waiting(self, channel: str, chat_id: str, now: datetime) -> bool:
        """Whether an earlier message to this chat is still due, retrying or being sent (a
        new one must not overtake it)."""
        values = {"channel": channel, "chat_id": chat_id, "now": now}
        connection = await self.s.connection()  # (Core: asked for every reply)
        return await connection.scalar(_CHAT_WAITING, values) is not None

    async def release(self, row_id: int, *, due_at: datetime, error: str) -> None:
        """Give a claimed row back to be tried again at `due_at` (unless it was cancelled)."""
        await self.s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == OutboxState.PENDING)
            .values(due_at=due_at, claimed_until=None, last_error=error[:200])
            .execution_options(synchronize_session=False)
        )

    async def mark_sent(self, row_id: int, *, now: datetime) -> None:
        """Record a delivery; the text is not kept twice, nor the chat of a stranger."""
        await self.mark_sent_many([(row_id, now)])

    async def mark_sent_many(self, sent: Sequence[tuple[int, datetime]]) -> None:
        """Record deliveries (row id, when it went), in one statement run for each."""
        if not sent:
            return
        connection = await self.s.connection()
        await connection.execute(_MARK_SENT, [{"row_id": i, "sent": at} for i, at in sent])

    async def mark_failed(self, row_id: int, *, error: str, keep_payload: bool = True) -> None:
        """Give up on a row (visible to `furikaeri outbox`); a cancelled row stays cancelled."""
        values: dict[str, Any] = {
            "status": OutboxState.FAILED,
            "claimed_until": None,
            "last_error": error,
        }
        if not keep_payload:
            values["payload"] = None
        await self.s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == OutboxState.PENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def cancel_for_student(self, student_id: int, reason: str) -> None:
        """Cancel every unsent message to a student (e.g. after /stop)."""
        await self.s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.student_id == student_id, OutboxMessage.status == OutboxState.PENDING
            )
            .values(status=OutboxState.CANCELLED, last_error=reason, payload=None)
            .execution_options(synchronize_session=False)
        )

    async def failed(self, limit: int = 20) -> list[OutboxMessage]:
        """The newest rows given up on, for the admin (their text is not shown)."""
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxState.FAILED)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
        return list((await self.s.scalars(query)).all())

    async def in_flight(self, now: datetime) -> int:
        """Rows claimed by a dispatcher right now (being sent, or left by a crash)."""
        query = select(func.count(OutboxMessage.id)).where(
            OutboxMessage.status == OutboxState.PENDING, OutboxMessage.claimed_until >= now
        )
        return int(await self.s.scalar(query) or 0)

    async def get(self, row_id: int) -> OutboxMessage | None:
        return await self.s.get(OutboxMessage, row_id)

    async def cancel_for_runs(self, run_ids: Sequence[int]) -> None:
        if run_ids:
            await self.s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.run_id.in_(run_ids), OutboxMessage.status == OutboxState.PENDING
                )
                .values(status=OutboxState.CANCELLED, payload=None)
            )

    async def cancel_for_chat(self, channel: str, chat_id: str, reason: str) -> None:
        await self.s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.status == OutboxState.PENDING,
            )
            .values(status=OutboxState.CANCELLED, last_error=reason, payload=None)
        )

    async def delete_concerning(self, student_id: int) -> int:
        """Delete every message to the student or concerning them, sent or not: an unsent
        digest or alert quoting them never goes out, and no row names them afterwards."""
        concerning = select(OutboxConcern.outbox_id).where(OutboxConcern.student_id == student_id)
        result = await self.s.execute(
            delete(OutboxMessage)
            .where(or_(OutboxMessage.student_id == student_id, OutboxMessage.id.in_(concerning)))
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def pending_by_channel(self) -> dict[str, int]:
        """Messages waiting to be sent, per channel (for /metrics)."""
        query = (
            select(OutboxMessage.channel, func.count(OutboxMessage.id))
            .where(OutboxMessage.status == "pending")
            .group_by(OutboxMessage.channel)
        )
        return {channel: int(n) for channel, n in (await self.s.execute(query)).all()}

    async def counts(self) -> dict[str, int]:
        query = select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(
            OutboxMessage.status
        )
        return {status: int(n) for status, n in (await self.s.execute(query)).all()}

    async def next_due(self, limit: int = 5) -> list[datetime]:
        query = (
            select(OutboxMessage.due_at)
            .where(OutboxMessage.status == OutboxState.PENDING)
            .order_by(OutboxMessage.due_at)
            .limit(limit)
        )
        return list((await self.s.scalars(query)).all())

    async def retry_failed(self, now: datetime) -> int:
        result = await self.s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxState.FAILED, OutboxMessage.payload.is_not(None))
            .values(
                status=OutboxState.PENDING,
                attempts=0,
                due_at=now,
                claimed_until=None,
                last_error="",
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def purge_payloads(self, cutoff: datetime) -> int:
        result = await self.s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.created_at < cutoff, OutboxMessage.payload.is_not(None))
            .values(payload=None, status=OutboxState.CANCELLED)
            .where(OutboxMessage.status != OutboxState.SENT)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def delete_finished_before(self, cutoff: datetime) -> int:
        """Forget messages older than the cutoff that are no longer waiting to be sent."""
        result = await self.s.execute(
            delete(OutboxMessage).where(
                OutboxMessage.created_at < cutoff, OutboxMessage.status != OutboxState.PENDING
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class States:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def get(self, account_id: int) -> ConversationState | None:
        return await self.s.get(ConversationState, account_id)

    async def set(self, account_id: int, name: str, data: dict[str, Any], now: datetime) -> None:
        row = await self.s.get(ConversationState, account_id)
        if row is None:
            self.s.add(
                ConversationState(account_id=account_id, name=name, data=data, updated_at=now)
            )
        else:
            row.name, row.data, row.updated_at = name, dict(data), now
        await self.s.flush()

    async def clear(self, account_id: int) -> None:
        await self.s.execute(
            delete(ConversationState).where(ConversationState.account_id == account_id)
        )
