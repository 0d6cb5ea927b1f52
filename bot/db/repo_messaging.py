"""Repositories for the inbox, the outbox and conversation state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db.models import ConversationState, InboxEvent, OutboxMessage


class Inbox:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(
        self, *, channel: str, event_id: str, sender: str, payload: dict[str, Any], now: datetime
    ) -> int | None:
        """Insert the event; None when (channel, event_id) is already there."""
        row = InboxEvent(
            channel=channel, event_id=event_id, sender=sender, payload=payload, received_at=now
        )
        try:
            async with self.s.begin_nested():
                self.s.add(row)
                await self.s.flush()
        except IntegrityError:
            return None
        return row.id

    async def pending_senders(self, limit: int = 1000) -> list[str]:
        query = (
            select(InboxEvent.sender)
            .where(InboxEvent.status == "pending")
            .group_by(InboxEvent.sender)
            .order_by(func.min(InboxEvent.id))
            .limit(limit)
        )
        return list((await self.s.scalars(query)).all())

    async def next_pending(self, sender: str) -> InboxEvent | None:
        query = (
            select(InboxEvent)
            .where(InboxEvent.sender == sender, InboxEvent.status == "pending")
            .order_by(InboxEvent.id)
            .limit(1)
        )
        return await self.s.scalar(query)

    async def finish(self, event: InboxEvent, *, now: datetime, failed: bool = False) -> None:
        """Mark handled. The payload (which may hold what the student typed) is dropped,
        except for a failed event, which is kept for the admin to retry."""
        event.status = "failed" if failed else "done"
        event.processed_at = now
        if not failed:
            event.payload = None
        await self.s.flush()

    async def forget_sender(self, sender: str) -> None:
        await self.s.execute(
            update(InboxEvent).where(InboxEvent.sender == sender).values(payload=None)
        )

    async def purge_payloads(self, cutoff: datetime) -> int:
        result = await self.s.execute(
            update(InboxEvent)
            .where(InboxEvent.received_at < cutoff, InboxEvent.payload.is_not(None))
            .values(payload=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Outbox:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, **values: Any) -> OutboxMessage:
        row = OutboxMessage(**values)
        self.s.add(row)
        await self.s.flush()
        return row

    async def claim(
        self, *, now: datetime, lease: timedelta, limit: int, ids: Sequence[int] | None = None
    ) -> list[OutboxMessage]:
        """Claim due rows, at most one per chat and only the oldest due one of each chat,
        so messages to one chat go out in order. Rows locked by another process are skipped."""
        older = aliased(OutboxMessage)
        blocked_by_older = exists().where(
            and_(
                older.channel == OutboxMessage.channel,
                older.chat_id == OutboxMessage.chat_id,
                older.status == "pending",
                older.due_at <= now,
                older.id < OutboxMessage.id,
            )
        )
        query = select(OutboxMessage).where(
            OutboxMessage.status == "pending",
            OutboxMessage.due_at <= now,
            (OutboxMessage.claimed_until.is_(None)) | (OutboxMessage.claimed_until < now),
            ~blocked_by_older,
        )
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        query = query.order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit)
        if self.s.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
        rows = list((await self.s.scalars(query)).all())
        for row in rows:
            row.claimed_until = now + lease
            row.attempts += 1
        await self.s.flush()
        return rows

    async def get(self, row_id: int) -> OutboxMessage | None:
        return await self.s.get(OutboxMessage, row_id)

    async def cancel_for_runs(self, run_ids: Sequence[int]) -> None:
        if run_ids:
            await self.s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.run_id.in_(run_ids), OutboxMessage.status == "pending")
                .values(status="cancelled", payload=None)
            )

    async def cancel_for_chat(self, channel: str, chat_id: str, reason: str) -> None:
        await self.s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.status == "pending",
            )
            .values(status="cancelled", last_error=reason, payload=None)
        )

    async def delete_of_student(self, student_id: int) -> None:
        await self.s.execute(delete(OutboxMessage).where(OutboxMessage.student_id == student_id))

    async def counts(self) -> dict[str, int]:
        query = select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(
            OutboxMessage.status
        )
        return {status: int(n) for status, n in (await self.s.execute(query)).all()}

    async def next_due(self, limit: int = 5) -> list[datetime]:
        query = (
            select(OutboxMessage.due_at)
            .where(OutboxMessage.status == "pending")
            .order_by(OutboxMessage.due_at)
            .limit(limit)
        )
        return list((await self.s.scalars(query)).all())

    async def retry_failed(self, now: datetime) -> int:
        result = await self.s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "failed", OutboxMessage.payload.is_not(None))
            .values(status="pending", attempts=0, due_at=now, claimed_until=None, last_error="")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def purge_payloads(self, cutoff: datetime) -> int:
        result = await self.s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.created_at < cutoff, OutboxMessage.payload.is_not(None))
            .values(payload=None, status="cancelled")
            .where(OutboxMessage.status != "sent")
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
