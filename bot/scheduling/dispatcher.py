"""The outbox dispatcher: claim due rows, send them through their channel, record the outcome."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta

from aiolimiter import AsyncLimiter

from bot.channels.base import Channel, Delivery, Rejected, RetryLater, Unreachable
from bot.clock import Clock
from bot.db.models import OutboxMessage
from bot.db.uow import Database
from bot.engine.replies import Reply

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
BATCH = 50


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... capped at 10 minutes."""
    return timedelta(seconds=min(600, 2 ** max(0, attempts - 1)))


class OutboxDispatcher:
    def __init__(self, *, db: Database, channels: Mapping[str, Channel], clock: Clock) -> None:
        self.db = db
        self.channels = dict(channels)
        self.clock = clock
        self._limiters = {
            name: AsyncLimiter(max(1.0, ch.limits.messages_per_second), 1.0)
            for name, ch in self.channels.items()
        }
        self._last_sent: dict[tuple[str, str], float] = {}
        self._tick_lock = asyncio.Lock()

    async def send_now(self, row_ids: Sequence[int]) -> None:
        """Send rows that were just committed (the reply path), in order per chat."""
        remaining = list(row_ids)
        while remaining and await self._run(remaining):
            async with self.db.uow() as uow:
                rows = [await uow.outbox.get(i) for i in remaining]
                remaining = [
                    r.id
                    for r in rows
                    if r is not None
                    and r.status == "pending"
                    and r.claimed_until is None
                    and r.due_at <= self.clock.now()
                ]

    async def tick(self) -> int:
        """Send everything that is due or was left unsent; returns how many rows were tried."""
        async with self._tick_lock:
            total = 0
            while True:
                tried = await self._run(None)
                total += tried
                if tried < BATCH:
                    return total

    async def _run(self, ids: list[int] | None) -> int:
        async with self.db.uow() as uow:
            rows = await uow.outbox.claim(now=self.clock.now(), lease=LEASE, limit=BATCH, ids=ids)
            await uow.commit()
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _deliver(self, row: OutboxMessage) -> None:
        channel = self.channels.get(row.channel)
        if channel is None or row.payload is None:
            await self._finish(row.id, status="failed", error="no such channel")
            return
        messages = tuple(Reply.from_json(m) for m in row.payload["messages"])
        fresh_token = (
            row.reply_token
            if row.reply_token_expires_at and row.reply_token_expires_at > self.clock.now()
            else ""
        )
        delivery = Delivery(
            chat_id=row.chat_id,
            messages=messages,
            idempotency_key=row.idempotency_key,
            reply_token=fresh_token,
        )
        await self._pace(channel, row.chat_id)
        try:
            await channel.send(delivery)
        except RetryLater as exc:
            await self._retry(row, exc.after, str(exc))
        except Unreachable:
            await self._unreachable(row)
        except Rejected as exc:
            log.warning("outbox.rejected", extra={"channel": row.channel, "row": row.id})
            await self._finish(row.id, status="failed", error=str(exc)[:200])
        except Exception as exc:  # an unexpected failure is retried, never lost
            log.exception("outbox.error", extra={"channel": row.channel, "row": row.id})
            await self._retry(row, None, type(exc).__name__)
        else:
            await self._finish(row.id, status="sent")

    async def _pace(self, channel: Channel, chat_id: str) -> None:
        await self._limiters[channel.name].acquire()
        interval = channel.limits.per_chat_interval
        if interval > 0:
            key = (channel.name, chat_id)
            wait = self._last_sent.get(key, 0.0) + interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_sent[key] = time.monotonic()

    async def _finish(self, row_id: int, *, status: str, error: str = "") -> None:
        async with self.db.uow() as uow:
            row = await uow.outbox.get(row_id)
            if row is None:
                return
            row.status, row.last_error, row.claimed_until = status, error, None
            if status == "sent":
                row.sent_at = self.clock.now()
                row.payload = None  # sent text is not kept twice
            await uow.commit()

    async def _retry(self, row: OutboxMessage, after: float | None, error: str) -> None:
        if row.attempts >= MAX_ATTEMPTS:
            log.warning("outbox.gave_up", extra={"channel": row.channel, "row": row.id})
            await self._finish(row.id, status="failed", error=error[:200])
            return
        delay = timedelta(seconds=after) if after is not None else backoff(row.attempts)
        async with self.db.uow() as uow:
            stored = await uow.outbox.get(row.id)
            if stored is not None:
                stored.due_at = self.clock.now() + delay
                stored.claimed_until = None
                stored.last_error = error[:200]
                await uow.commit()

    async def _unreachable(self, row: OutboxMessage) -> None:
        async with self.db.uow() as uow:
            if row.student_id is not None:
                student = await uow.students.get(row.student_id)
                if student is not None:
                    student.reachable = False
            await uow.outbox.cancel_for_chat(row.channel, row.chat_id, "unreachable")
            stored = await uow.outbox.get(row.id)
            if stored is not None:
                stored.status, stored.claimed_until = "failed", None
                stored.last_error = "unreachable"
            await uow.commit()
