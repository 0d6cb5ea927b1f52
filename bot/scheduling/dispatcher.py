"""The outbox dispatcher: claim due rows, send them through their channel, record the outcome.

A row is claimed (a lease, and one more attempt) in its own committed transaction before
anything is sent, and its outcome is recorded in another one afterwards. A process killed
in between leaves the row claimed; once the lease runs out any dispatcher sends it again:
LINE drops the repeat (same X-Line-Retry-Key), Telegram may show that one message twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiolimiter import AsyncLimiter

from bot.channels.base import Channel, Delivery, Rejected, RetryLater, Unreachable
from bot.clock import Clock
from bot.db.models import OutboxMessage
from bot.db.states import OutboxState
from bot.db.uow import Database
from bot.engine.replies import Reply

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=1)
MAX_ATTEMPTS = 8
BATCH = 50
MIN_RETRY_SECONDS = 1.0
_PACING_MEMORY = 10_000  # chats whose last send time is remembered


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at 15 minutes: about 10 minutes over MAX_ATTEMPTS."""
    return timedelta(seconds=min(900, 5 * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Claimed:
    """What one attempt needs of a claimed row (read before the claim commits)."""

    id: int
    channel: str
    chat_id: str
    student_id: int | None
    attempts: int
    idempotency_key: str
    reply_token: str  # "" unless this is the row's first attempt and the token is fresh
    payload: dict[str, Any] | None


class OutboxDispatcher:
    def __init__(
        self,
        *,
        db: Database,
        channels: Mapping[str, Channel],
        clock: Clock,
        lease: timedelta = LEASE,
    ) -> None:
        self.db = db
        self.channels = dict(channels)
        self.clock = clock
        self.lease = lease
        self.stats: Counter[str] = Counter()  # sent, retried, failed, unreachable
        self._limiters = {
            name: AsyncLimiter(max(1.0, ch.limits.messages_per_second), 1.0)
            for name, ch in self.channels.items()
        }
        self._last_sent: dict[tuple[str, str], float] = {}
        self._tick_lock = asyncio.Lock()
        self._stopping = False

    def stop(self) -> None:
        """Start no new round of sends (the process is stopping; the rest stays queued)."""
        self._stopping = True

    @property
    def send_timeout(self) -> float:
        """A delivery (waiting for the rate limits included) that takes longer is abandoned
        and retried: it must end well before its lease does, or another dispatcher could
        claim the row while it is still being sent."""
        return self.lease.total_seconds() / 2

    async def send_now(self, row_ids: Sequence[int]) -> None:
        """Send rows that were just committed (the reply path), in order per chat."""
        remaining = list(row_ids)
        while remaining and not self._stopping and await self._run(remaining):
            async with self.db.uow() as uow:
                rows = [await uow.outbox.get(i) for i in remaining]
                remaining = [
                    r.id
                    for r in rows
                    if r is not None
                    and r.status == OutboxState.PENDING
                    and r.claimed_until is None
                    and r.due_at <= self.clock.now()
                ]

    async def tick(self) -> int:
        """Send everything that is due or was left unsent; returns how many rows were tried.

        Each round claims at most one row per chat, so it goes on until nothing is left.
        A row that fails is given a due time in the future, so the rounds end."""
        async with self._tick_lock:
            total = 0
            while not self._stopping and (tried := await self._run(None)):
                total += tried
            return total

    async def _run(self, ids: list[int] | None) -> int:
        if not self.channels:
            return 0  # a CLI process: the running bot sends what it queued
        now = self.clock.now()
        async with self.db.uow() as uow:
            rows = await uow.outbox.claim(
                now=now, lease=self.lease, limit=BATCH, channels=self.channels, ids=ids
            )
            claimed = [self._claimed(row, now) for row in rows]
            for row in rows:
                # A reply token is used once: a retry goes out as a push with its retry key.
                row.reply_token, row.reply_token_expires_at = "", None
            await uow.commit()
        if claimed:
            outcomes = await asyncio.gather(
                *(self._deliver(row) for row in claimed), return_exceptions=True
            )
            errors = [o for o in outcomes if isinstance(o, BaseException)]
            if errors:
                raise errors[0]
        return len(claimed)

    @staticmethod
    def _claimed(row: OutboxMessage, now: datetime) -> Claimed:
        fresh = row.reply_token_expires_at is not None and row.reply_token_expires_at > now
        return Claimed(
            id=row.id,
            channel=row.channel,
            chat_id=row.chat_id,
            student_id=row.student_id,
            attempts=row.attempts,
            idempotency_key=row.idempotency_key,
            reply_token=row.reply_token if fresh else "",
            payload=row.payload,
        )

    async def _deliver(self, row: Claimed) -> None:
        channel = self.channels[row.channel]
        if row.payload is None:
            await self._fail(row, "nothing to send")
            return
        delivery = Delivery(
            chat_id=row.chat_id,
            messages=tuple(Reply.from_json(m) for m in row.payload["messages"]),
            idempotency_key=row.idempotency_key,
            reply_token=row.reply_token,
        )
        try:
            async with asyncio.timeout(self.send_timeout):
                await self._pace(channel, row.chat_id)
                await channel.send(delivery)
        except RetryLater as exc:
            await self._retry(row, exc.after, str(exc))
        except Unreachable:
            await self._unreachable(row)
        except Rejected as exc:
            log.warning("outbox.rejected", extra={"channel": row.channel, "row": row.id})
            await self._fail(row, str(exc))
        except TimeoutError:
            await self._retry(row, None, "send timed out")
        except Exception as exc:  # an unexpected failure is retried, never lost
            # Only the type: an SDK's message may quote the text being sent.
            error = type(exc).__name__
            log.error("outbox.error", extra={"channel": row.channel, "row": row.id, "error": error})
            await self._retry(row, None, error)
        else:
            async with self.db.uow() as uow:
                await uow.outbox.mark_sent(row.id, now=self.clock.now())
                await uow.commit()
            self.stats["sent"] += 1

    async def _pace(self, channel: Channel, chat_id: str) -> None:
        """Wait for the channel's overall rate and the chat's minimum interval."""
        await self._limiters[channel.name].acquire()
        interval = channel.limits.per_chat_interval
        if interval <= 0:
            return
        key = (channel.name, chat_id)
        wait = self._last_sent.get(key, 0.0) + interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_sent[key] = time.monotonic()
        if len(self._last_sent) > _PACING_MEMORY:
            cutoff = time.monotonic() - interval
            self._last_sent = {k: v for k, v in self._last_sent.items() if v > cutoff}

    async def _fail(self, row: Claimed, error: str) -> None:
        async with self.db.uow() as uow:
            await uow.outbox.mark_failed(row.id, error=error[:200])
            await uow.commit()
        self.stats["failed"] += 1

    async def _retry(self, row: Claimed, after: float | None, error: str) -> None:
        """Try again later: when the platform says (429 retry_after: never given up on),
        else with backoff until MAX_ATTEMPTS, then the row is failed."""
        if after is None and row.attempts >= MAX_ATTEMPTS:
            log.warning("outbox.gave_up", extra={"channel": row.channel, "row": row.id})
            await self._fail(row, error)
            return
        delay = (
            timedelta(seconds=max(MIN_RETRY_SECONDS, after))
            if after is not None
            else backoff(row.attempts)
        )
        log.info(
            "outbox.retry",
            extra={"channel": row.channel, "row": row.id, "seconds": delay.total_seconds()},
        )
        async with self.db.uow() as uow:
            await uow.outbox.release(row.id, due_at=self.clock.now() + delay, error=error)
            await uow.commit()
        self.stats["retried"] += 1

    async def _unreachable(self, row: Claimed) -> None:
        """The user blocked the bot: mark them, and drop what was still to be sent to them."""
        log.info("outbox.unreachable", extra={"channel": row.channel, "row": row.id})
        async with self.db.uow() as uow:
            if row.student_id is not None:
                student = await uow.students.get(row.student_id)
                if student is not None:
                    student.reachable = False
            await uow.outbox.mark_failed(row.id, error="unreachable", keep_payload=False)
            await uow.outbox.cancel_for_chat(row.channel, row.chat_id, "unreachable")
            await uow.commit()
        self.stats["unreachable"] += 1
