"""The outbox dispatcher: claim due rows, send them through their channel, record the outcome.

Sending is continuous: a row is claimed shortly before its turn (at most `horizon` seconds
of the channel's rate ahead), sent as soon as its turn comes, and the next rows are claimed
while earlier ones are still on their way; no round waits for its slowest send.

Waiting is never part of a send: a row first waits for its slot on the channel's rate
(booked in the database, shared by every process) and for its chat's turn, and only then
is the send timed. So a backlog cannot make a send time out and be repeated, nor let a
LINE reply token expire while it queues; LINE replies need no slot at all (free, no quota).

A row is claimed (a lease, and one more attempt) in a committed transaction before it is
sent (or written already claimed, for a LINE reply: bot/engine/outbox_writer.py), and its
outcome is recorded afterwards, in batches. A process killed in between leaves the row
claimed; once the lease runs out any dispatcher sends it again: LINE drops the repeat
(same X-Line-Retry-Key), Telegram may show that one message twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.channels.base import Channel, Delivery, Limits, Rejected, RetryLater, Unreachable
from bot.clock import Clock
from bot.db.repo_messaging import ChatPacing, ClaimedMessage
from bot.db.uow import Database
from bot.engine.outbox_writer import Due
from bot.engine.replies import Reply
from bot.scheduling.outcomes import Outcome, OutcomeWriter
from bot.scheduling.pacing import ChannelRate, ChatSpacing

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=1)
MAX_ATTEMPTS = 8
CLAIM_BATCH = 50  # rows per claim and channel, at most
HORIZON = 1.0  # seconds of a channel's rate claimed ahead, at most (less with a short lease)
PACED_POLL = 0.2  # seconds between looks while only chats' spacing holds rows back
PACED_PATIENCE = 30.0  # seconds a tick waits for held-back rows without sending any
LATE = 0.15  # seconds a slot may be missed by before it is booked again
REBOOKS = 3
MIN_RETRY_SECONDS = 1.0

_SENDER = "outbox-sender"  # the name of the background sender's task
Claim = tuple[ClaimedMessage, float | None]  # the row, and its slot (wall clock) if it needs one


class _Stopping(Exception):
    """The process is stopping: the row goes back to the queue unsent."""


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at 15 minutes: about 10 minutes over MAX_ATTEMPTS."""
    return timedelta(seconds=min(900, 5 * 2 ** max(0, attempts - 1)))


class OutboxDispatcher:
    def __init__(
        self,
        *,
        db: Database,
        channels: Mapping[str, Channel],
        clock: Clock,
        lease: timedelta = LEASE,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.channels = dict(channels)
        self.clock = clock
        self.lease = lease
        # sent, throttled (429s), timed_out, retried, failed, unreachable: for /metrics
        self.stats: Counter[str] = Counter()
        self.wall = wall  # the clock a channel's rate runs on (real time, for every process)
        self._paces: dict[str, tuple[Limits, ChannelRate, ChatSpacing]] = {}
        self._outcomes = OutcomeWriter(db)
        self._tick_lock = asyncio.Lock()
        # Called (after commit) with a student found unreachable by a send, so the
        # composition root can alert the counselor; bot/ knows no features.
        self.on_unreachable: Callable[[int], Awaitable[object]] | None = None
        self._sending = 0  # sends in flight in this process
        self._poked = False
        self._background: set[asyncio.Task[Any]] = set()
        self._stopping = False

    async def finish(self, timeout: float) -> None:
        """Claim nothing new (the process is stopping) and wait, at most `timeout` seconds,
        for the sends in flight and their recorded outcomes; the rest stays queued for the
        next start or another process. A send cut off here is sent again after its lease."""
        self._stopping = True
        if not self._background:
            return
        _, unfinished = await asyncio.wait(self._background, timeout=timeout)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)

    def _pace(self, channel: str) -> tuple[ChannelRate, ChatSpacing]:
        """The channel's rate and chat spacing, for its limits as they are now."""
        limits = self.channels[channel].limits
        known = self._paces.get(channel)
        if known is None or known[0] != limits:
            rate = ChannelRate(limits)
            if known is not None:
                rate.booked_until = known[1].booked_until
            spacing = ChatSpacing(limits.per_chat_interval, limits.chat_burst)
            known = self._paces[channel] = (limits, rate, spacing)
        return known[1], known[2]

    @property
    def _rates(self) -> dict[str, ChannelRate]:
        return {name: self._pace(name)[0] for name in self.channels}

    @property
    def send_timeout(self) -> float:
        """A send that takes longer is abandoned and retried: it must end well before its
        lease does, or another dispatcher could claim the row while it is still being sent.
        It counts the request only, never the wait for a turn."""
        return self.lease.total_seconds() / 2

    @property
    def horizon(self) -> float:
        """Claimed rows wait at most about this long for their turn: well inside the lease."""
        return min(HORIZON, self.lease.total_seconds() / 8)

    def reply_lease(self, channel: str) -> timedelta | None:
        """Replies on a channel where they are free are written already claimed, for this
        long: the process that wrote them sends them at once."""
        if channel in self.channels and self.channels[channel].limits.free_replies:
            return self.lease
        return None

    async def send_now(self, due: Sequence[Due]) -> None:
        """Send rows that were just committed (the reply path), in order per chat: those
        written already claimed at once, the others once claimed."""
        claimed = [item for item in due if isinstance(item, ClaimedMessage)]
        ids = {item for item in due if isinstance(item, int)}
        await self._pump(ids=ids, claimed=claimed)

    def send_soon(self, due: Sequence[Due] = ()) -> None:
        """Have the background sender send what is due (these rows, and whatever else), and
        return at once; it goes on until nothing due is left. The clock tick calls this too."""
        claimed = [item for item in due if isinstance(item, ClaimedMessage)]
        if claimed:
            self._in_background(self._pump(ids=set(), claimed=claimed))
        self._poked = True
        if not any(task.get_name() == _SENDER for task in self._background):
            self._in_background(self._send_while_poked(), name=_SENDER)

    async def tick(self) -> int:
        """Send everything that is due or was left unsent; returns how many rows were tried.

        One chat's rows go one at a time, so it goes on until nothing due is left (waiting
        for chats that just got their burst). A row that fails is given a due time in the
        future, so it ends. What the background sender is doing finishes first."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        async with self._tick_lock:
            return await self._pump(ids=None)

    async def _send_while_poked(self) -> None:
        while self._poked and not self._stopping:
            self._poked = False
            async with self._tick_lock:
                await self._pump(ids=None)

    def _in_background(self, coroutine: Coroutine[Any, Any, Any], name: str | None = None) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # The rows stay queued (or claimed until their lease ends): a later tick sends them.
            log.error("outbox.background_failed", extra={"error": type(error).__name__})

    # -- the pump -----------------------------------------------------------------------

    async def _pump(self, *, ids: set[int] | None, claimed: Sequence[ClaimedMessage] = ()) -> int:
        """Claim and send until nothing (of `ids`, if given) can be sent now."""
        if not self.channels:
            return 0  # a CLI process: the running bot sends what it queued
        start_by = self._start_by()
        sending = {self._spawn(self._deliver(row, None, start_by)) for row in claimed}
        tried = len(claimed)
        more = ids is None or bool(ids)  # whether a claim may find something now
        idle = 0.0  # seconds waited for held-back rows since the last send
        try:
            while True:
                if more and not self._stopping and self._wants_claim(sending):
                    start_by = self._start_by()  # (taken before the claim: on the safe side)
                    claims, more = await self._claim(ids)
                    for row, slot in claims:
                        sending.add(self._spawn(self._deliver(row, slot, start_by)))
                        tried += 1
                        if ids is not None:
                            ids.discard(row.id)
                if sending:
                    # Until a send ends (its chat's next row may now go), or, while more may
                    # be waiting, until the channel has room for another batch.
                    done, sending = await asyncio.wait(
                        sending,
                        timeout=self._next_claim_in() if more else None,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    for task in done:
                        task.result()  # an error of the database: stop and report it
                    idle = 0.0
                    more = more or bool(done)
                    more = more and (ids is None or bool(ids))
                    continue
                wait = None if self._stopping else await self._more_soon(ids)
                if wait is None or idle > PACED_PATIENCE:
                    return tried  # (a later tick sends what still waits)
                await asyncio.sleep(wait)
                idle += wait
                more = True
        finally:
            if sending:  # an error: let the others finish and record their outcomes
                await asyncio.gather(*sending, return_exceptions=True)

    def _start_by(self) -> float:
        """The latest moment (monotonic) a row claimed now may start being sent: its send
        must end, timed out at the latest, well before its lease does."""
        lease = self.lease.total_seconds()
        return time.monotonic() + lease - self.send_timeout - lease / 8

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return asyncio.create_task(coroutine)

    def _chunk(self, rate: ChannelRate) -> int:
        """Rows worth a claim while others are being sent: half the horizon's worth."""
        return max(1, int(min(CLAIM_BATCH, self.horizon / rate.gap) / 2))

    def _wants_claim(self, sending: set[asyncio.Task[None]]) -> bool:
        """Claim when idle, or when some channel has room for a good share of its horizon
        (not after every single send: claims, like outcomes, go in batches)."""
        now, horizon = self.wall(), self.horizon
        for rate in self._rates.values():
            room = rate.room(now, horizon, CLAIM_BATCH)
            if room and (not sending or room >= self._chunk(rate)):
                return True
        return False

    def _next_claim_in(self) -> float:
        """Seconds until some channel has room for another batch."""
        now, horizon = self.wall(), self.horizon
        waits = [rate.room_in(now, horizon, self._chunk(rate)) for rate in self._rates.values()]
        return min(horizon, max(0.005, min(waits, default=horizon)))

    async def _claim(self, ids: set[int] | None) -> tuple[list[Claim], bool]:
        """Claim what fits within the horizon on each channel and book slots for the rows
        that need one, in one transaction. Also says whether more may be waiting (some
        channel got all it asked for)."""
        wall, now, horizon = self.wall(), self.clock.now(), self.horizon
        claims: list[Claim] = []
        full = False
        async with self.db.uow() as uow:
            for name, rate in self._rates.items():
                if not rate.room(wall, horizon, CLAIM_BATCH):
                    continue
                booked = await uow.send_budget.booked_until(name)  # other processes' bookings
                rate.booked_until = max(rate.booked_until, booked)
                room = rate.room(wall, horizon, CLAIM_BATCH)
                if not room:
                    continue
                rows = await uow.outbox.claim(
                    now=now,
                    lease=self.lease,
                    limit=room,
                    channels=[name],
                    ids=ids,
                    pacing=self._chat_pacing(name, now),
                )
                paying = [row for row in rows if rate.needs_slot(row)]
                slots: dict[int, float] = {}
                if paying:
                    first = await uow.send_budget.book(
                        name, slots=len(paying), gap=rate.gap, now=wall
                    )
                    rate.booked_until = first + len(paying) * rate.gap
                    slots = {row.id: first + i * rate.gap for i, row in enumerate(paying)}
                claims.extend((row, slots.get(row.id)) for row in rows)
                full = full or len(rows) == room
            await uow.commit()
        return claims, full

    def _chat_pacing(self, channel: str, now: datetime) -> ChatPacing | None:
        limits = self.channels[channel].limits
        if limits.per_chat_interval <= 0:
            return None
        interval = timedelta(seconds=limits.per_chat_interval)
        return ChatPacing(now=now, interval=interval, burst=max(1, limits.chat_burst))

    async def _more_soon(self, ids: set[int] | None) -> float | None:
        """Seconds until more can go, when due rows wait only for their turn (their chat's
        spacing, or a channel booked ahead or holding off); None when nothing waits."""
        if ids is not None and not ids:
            return None
        now, wall, horizon = self.clock.now(), self.wall(), self.horizon
        waits: list[float] = []
        async with self.db.uow() as uow:
            for name, rate in self._rates.items():
                if not await uow.outbox.ready(now=now, channels=[name], ids=ids):
                    continue  # nothing due (or only rows another process is sending)
                if not rate.room(wall, horizon, CLAIM_BATCH):
                    waits.append(max(0.005, rate.room_in(wall, horizon, 1)))
                    continue
                pacing = self._chat_pacing(name, now)
                if pacing is not None and await uow.outbox.paced(
                    now=now, channels=[name], pacing=pacing, ids=ids
                ):
                    waits.append(PACED_POLL)
                else:
                    # Claimable already: queued since the last claim, or its chat's oldest
                    # recent send has just left the window. Claim again at once.
                    waits.append(0.005)
        return min(waits, default=None)

    # -- one send -----------------------------------------------------------------------

    async def _deliver(self, row: ClaimedMessage, slot: float | None, start_by: float) -> None:
        """Wait for the row's turn, send it, record what happened."""
        channel = self.channels[row.channel]
        if not await self._pace(row.channel)[1].wait(row.chat_id, until=start_by):
            self.stats["given_back"] += 1  # the chat's turn comes too late for this claim
            await self._outcomes.record(Outcome(row.id, retry_at=self.clock.now(), error=""))
            return
        if slot is not None:
            await self._on_time(row.channel, slot, start_by)
        if time.monotonic() > start_by:
            # Waited too long (a very busy process): sent now, it could still be on its way
            # when the lease ends and another dispatcher claims it. Give it back instead.
            self.stats["given_back"] += 1
            outcome: Outcome | None = Outcome(
                row.id, retry_at=self.clock.now(), error="waited too long for its turn"
            )
        else:
            self._sending += 1
            try:
                outcome = await self._attempt(channel, row)
            finally:
                self._sending -= 1
        if outcome is not None:
            await self._outcomes.record(outcome, others_sending=self._sending > 0)

    async def _on_time(self, channel: str, slot: float, start_by: float) -> None:
        """Wait for the slot. One missed by far (this process was busy) is booked again
        rather than used late, where it would crowd the slots of other processes."""
        for _ in range(REBOOKS):
            if (wait := slot - self.wall()) > 0:
                await asyncio.sleep(wait)
            if self.wall() - slot <= LATE or time.monotonic() > start_by:
                break
            rate = self._rates[channel]
            async with self.db.uow() as uow:
                slot = await uow.send_budget.book(channel, slots=1, gap=rate.gap, now=self.wall())
                await uow.commit()
            rate.booked_until = max(rate.booked_until, slot + rate.gap)
            self.stats["rebooked"] += 1
        await self._rates[channel].turn()

    async def _attempt(self, channel: Channel, row: ClaimedMessage) -> Outcome | None:
        """Send once; the outcome to record (None: already recorded, the user is gone)."""
        if row.payload is None:
            return self._failed(row, "nothing to send")
        delivery = Delivery(
            chat_id=row.chat_id,
            messages=tuple(Reply.from_json(m) for m in row.payload["messages"]),
            idempotency_key=row.idempotency_key,
            reply_token=row.reply_token,
        )
        try:
            async with asyncio.timeout(self.send_timeout):
                await channel.send(delivery)
        except RetryLater as exc:
            return await self._retry(row, exc)
        except Unreachable:
            await self._unreachable(row)
            return None
        except Rejected as exc:
            log.warning("outbox.rejected", extra={"channel": row.channel, "row": row.id})
            return self._failed(row, str(exc))
        except TimeoutError:
            self.stats["timed_out"] += 1
            return self._retry_later(row, None, "send timed out")
        except Exception as exc:  # an unexpected failure is retried, never lost
            # Only the type: an SDK's message may quote the text being sent.
            error = type(exc).__name__
            log.error("outbox.error", extra={"channel": row.channel, "row": row.id, "error": error})
            return self._retry_later(row, None, error)
        self._rates[row.channel].recovered()
        self.stats["sent"] += 1
        return Outcome(row.id, sent_at=self.clock.now())

    def _failed(self, row: ClaimedMessage, error: str) -> Outcome:
        self.stats["failed"] += 1
        return Outcome(row.id, error=error)

    async def _retry(self, row: ClaimedMessage, exc: RetryLater) -> Outcome:
        """A temporary failure. A 429 about one chat holds that chat back for as long as
        the platform said; one about the whole channel holds every process back."""
        if exc.throttled is not None:
            self.stats["throttled"] += 1
        if exc.throttled == "chat" and exc.after is not None:
            self._pace(row.channel)[1].hold(row.chat_id, exc.after)
        elif exc.throttled == "channel":
            pause = self._rates[row.channel].backoff(exc.after)
            await self._hold_off(row.channel, pause)
            return self._retry_later(row, pause, str(exc))
        return self._retry_later(row, exc.after, str(exc))

    async def _hold_off(self, channel: str, seconds: float) -> None:
        until = self.wall() + seconds
        rate = self._rates[channel]
        rate.booked_until = max(rate.booked_until, until)
        async with self.db.uow() as uow:
            await uow.send_budget.hold_off(channel, until=until)
            await uow.commit()

    def _retry_later(self, row: ClaimedMessage, after: float | None, error: str) -> Outcome:
        """Try again later: when the platform says (429 retry_after: never given up on),
        else with backoff until MAX_ATTEMPTS, then the row is failed."""
        if after is None and row.attempts >= MAX_ATTEMPTS:
            log.warning("outbox.gave_up", extra={"channel": row.channel, "row": row.id})
            return self._failed(row, error)
        delay = (
            timedelta(seconds=max(MIN_RETRY_SECONDS, after))
            if after is not None
            else backoff(row.attempts)
        )
        log.info(
            "outbox.retry",
            extra={"channel": row.channel, "row": row.id, "seconds": delay.total_seconds()},
        )
        self.stats["retried"] += 1
        return Outcome(row.id, retry_at=self.clock.now() + delay, error=error)

    async def _unreachable(self, row: ClaimedMessage) -> None:
        """The user blocked the bot: mark them, and drop what was still to be sent to them."""
        log.info("outbox.unreachable", extra={"channel": row.channel, "row": row.id})
        newly = False
        async with self.db.uow() as uow:
            if row.student_id is not None:
                student = await uow.students.get(row.student_id)
                if student is not None:
                    newly = student.reachable
                    student.reachable = False
            await uow.outbox.mark_failed(row.id, error="unreachable", keep_payload=False)
            await uow.outbox.cancel_for_chat(row.channel, row.chat_id, "unreachable")
            await uow.commit()
        self.stats["unreachable"] += 1
        if newly and row.student_id is not None and self.on_unreachable is not None:
            try:
                await self.on_unreachable(row.student_id)
            except Exception:
                log.exception("outbox.unreachable_hook_failed", extra={"row": row.id})
