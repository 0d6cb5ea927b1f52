"""The engine: inbox in, one unit of work per event, outbox out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from bot.clock import Clock
from bot.config import Settings
from bot.db.repo_messaging import NewEvent, PendingEvent
from bot.db.uow import Database, UnitOfWork
from bot.engine.commands import CommandBook
from bot.engine.context import Context
from bot.engine.events import Inbound, Kind, RawEvent
from bot.engine.intake import GroupCommit
from bot.engine.outbox_writer import Due, enqueue
from bot.engine.ports import UpdateReader
from bot.engine.replies import Reply
from bot.i18n import N_, negotiate
from bot.metrics import Metrics
from bot.prompts import PromptBook

log = logging.getLogger(__name__)

EventHandler = Callable[[Inbound, Context], Awaitable[list[Reply]]]
Job = Callable[[Context], Awaitable[list[Reply]]]
# What of an event from someone who has not consented is handled (and, if it fails, kept).
Screen = Callable[[Inbound, Context], Inbound]

RAW = "raw"  # an inbox payload {"raw": …} is a platform update as it came; else an Inbound
READ_AHEAD = 20  # pending events of one sender read at once (one process)
HANDLING_SLOTS = 16  # senders handled at the same time by one process
# Events this process committed are handed to its handlers in memory (no read of the inbox)
# up to this many at a time; beyond it, a flood is read back from the inbox instead.
HANDED_OVER_MAX = 500

# Said when a handler raised: the event is kept as failed until the admin retries it.
APOLOGY = N_("Something went wrong on our side. Your message is kept, and we will try again.")
NO_APOLOGY = {Kind.UNFOLLOW, Kind.GROUP}  # blocked the bot; or a group, which gets no answers


class Sender(Protocol):
    async def send_now(self, due: Sequence[Due]) -> None: ...

    def send_soon(self, due: Sequence[Due]) -> None:
        """Send in the background; return at once."""
        ...

    def reply_lease(self, channel: str) -> timedelta | None:
        """How long a reply row is claimed for when written already claimed (None: not)."""
        ...


@dataclass(frozen=True)
class Read:
    """What a stored row means: an event, nothing to act on (None), or why not yet."""

    event: Inbound | None
    error: str | None = None


@dataclass(frozen=True)
class Failure:
    row_id: int
    event: Inbound  # as handled (screened)
    error: str  # the exception's type, never its text
    screened: bool  # words were dropped: wipe the files once the failure is recorded


@dataclass
class Outcome:
    due_now: list[Due] = field(default_factory=list)
    failed: Failure | None = None


class Engine:
    """Implements EventSink for the channels, handles the inbox, and runs scheduled jobs in
    units of work."""

    def __init__(
        self,
        *,
        db: Database,
        handle: EventHandler,
        prompts: PromptBook,
        settings: Settings,
        clock: Clock,
        links: dict[str, str] | None = None,
        screen: Screen | None = None,
        commands: CommandBook | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        self.metrics = metrics
        self._handle = handle
        self._screen = screen
        self.prompts = prompts
        self.settings = settings
        self.clock = clock
        # The very dict given: bootstrap fills it after the channels are built.
        self.links = {} if links is None else links
        self.commands = commands if commands is not None else CommandBook()
        self.sender: Sender | None = None
        # Filled by the composition root: each channel reads its stored platform updates.
        self.readers: dict[str, UpdateReader] = {}
        # False in a web-only process (its intake leaves the handling to the workers), and
        # until the channels are started: the events it commits wait in the inbox.
        self.handles_events = True
        self.intake = GroupCommit(db, clock, committed=self._committed)
        self._running: dict[str, asyncio.Task[None]] = {}  # sender -> the task handling it
        self._again: set[str] = set()  # senders with events newer than their task's read
        # One process: events its intake committed, per sender, in inbox order; and the
        # senders whose pending events must be read from the inbox (left by a restart, a
        # retry, or more than were handed over).
        self._handed: dict[str, list[PendingEvent]] = {}
        self._handed_count = 0
        self._unread: set[str] = set()
        self._handled_up_to: dict[str, int] = {}  # sender -> last row id its task handled
        self._slots = asyncio.Semaphore(HANDLING_SLOTS)
        self._stopping = False

    # -- the inbound port: intake ---------------------------------------------------------
    async def accept(self, events: Sequence[RawEvent]) -> list[bool]:
        """Commit platform updates to the inbox as they came (group commit); a worker reads
        and handles them. Per event, False for a duplicate."""
        rows = [NewEvent(e.channel, e.event_id, e.sender, {RAW: e.body}) for e in events]
        fresh = await self.intake.add(rows)
        self._count_received(rows, fresh)
        return fresh

    async def receive(self, event: Inbound) -> bool:
        """Commit a neutral event (the console, tests) to the inbox; handled like the rest."""
        row = NewEvent(event.channel, event.event_id, _sender(event), event.to_json())
        [fresh] = await self.intake.add([row])
        self._count_received([row], [fresh])
        if not fresh:
            log.info("inbox.duplicate", extra={"channel": event.channel})
        return fresh

    def _count_received(self, rows: Sequence[NewEvent], fresh: Sequence[bool]) -> None:
        if self.metrics is not None:
            for row, new in zip(rows, fresh, strict=True):
                self.metrics.count_received(row.channel, new)

    def _committed(self, rows: list[PendingEvent]) -> None:
        """New events are in the inbox: handle them here, unless workers elsewhere do.
        With one process they are handed over as they are, saving a read of the inbox."""
        if not self.handles_events:
            return
        for row in rows:
            if self.db.shared or row.sender in self._unread:
                pass  # read from the inbox: under an advisory lock, or behind older events
            elif self._handed_count >= HANDED_OVER_MAX:
                self._unread.add(row.sender)
            else:
                self._handed.setdefault(row.sender, []).append(row)
                self._handed_count += 1
        for sender in dict.fromkeys(row.sender for row in rows):
            self._spawn(sender)

    # -- the worker side: handling ----------------------------------------------------------
    async def drain(self) -> None:
        """Wait until every event received so far is handled (tests, the demo)."""
        while True:
            await self.intake.idle()
            if not self._running:
                return
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def stop_handling(self, timeout: float) -> None:
        """Finish the events being handled (up to `timeout` seconds), start no more: what
        is left stays pending in the inbox for the next start, or for another worker."""
        self._stopping = True
        await asyncio.wait_for(self.intake.idle(), timeout)
        tasks = list(self._running.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout)
        for task in late:
            task.cancel()  # its transaction rolls back: the event is handled again later
        await asyncio.gather(*late, return_exceptions=True)

    async def process_pending(self) -> int:
        """Handle pending events: new ones from another process's intake, those left by a
        crash or a restart, or queued again by the admin (`furikaeri inbox retry`).
        Returns how many senders had some."""
        async with self.db.uow() as uow:
            senders = await uow.inbox.pending_senders()
        if self._stopping:
            return 0
        self._unread.update(senders)
        await asyncio.gather(*(self._spawn(s) for s in senders), return_exceptions=True)
        return len(senders)

    def _spawn(self, sender: str) -> asyncio.Task[None]:
        """The task handling this sender's events (one per sender: their order holds)."""
        task = self._running.get(sender)
        if task is not None:
            self._again.add(sender)  # it may have read the inbox before this event came
            return task
        task = asyncio.create_task(self.process_sender(sender))
        self._running[sender] = task
        return task

    async def process_sender(self, sender: str) -> None:
        """Handle one sender's pending events in order, one at a time.

        A slot is held for one read-ahead only, then taken again behind the senders already
        waiting: a student who answers fast cannot keep a slot while others wait for one."""
        try:
            while not self._stopping:
                self._again.discard(sender)
                while not self._stopping:
                    async with self._slots:
                        if not await self._handle_some(sender):
                            break
                if sender not in self._again:
                    break
        except Exception:
            # The event stays in the inbox and is handled on the next wake-up or start.
            log.exception("inbox.processing_failed", extra={"channel": sender.split(":", 1)[0]})
        finally:
            self._again.discard(sender)
            self._handled_up_to.pop(sender, None)
            del self._running[sender]

    async def _handle_some(self, sender: str) -> bool:
        """Handle the sender's oldest pending events; False when there were none (or
        another process is handling them)."""
        if self.db.shared:
            # Several processes: the student's lock first, then read and handle in the one
            # transaction, so no two processes read (or answer) the same event.
            async with self.db.uow() as uow:
                if not await uow.try_lock(sender):
                    return False  # another worker has this student; it handles what is left
                row = await uow.inbox.next_pending(sender)
                if row is None:
                    return False
                outcome = await self._handle_row(uow, row, await self._read(row))
            await self._after(sender, outcome)
            return True
        # One process: its task per sender keeps the order. Handle each event in its own
        # transaction; platform calls (the LINE profile) hold no database lock.
        rows = await self._next_rows(sender)
        for row in rows:
            if self._stopping:
                return False
            read = await self._read(row)
            async with self.db.uow() as uow:
                outcome = await self._handle_row(uow, row, read)
            self._handled_up_to[sender] = row.id
            await self._after(sender, outcome)
        return bool(rows)

    async def _next_rows(self, sender: str) -> list[PendingEvent]:
        """The sender's next events (one process): a read of the inbox when it may hold
        events not handed over, else those handed over. One handed over after a read that
        found it is skipped (by id); handled twice, it would change nothing (`finish`
        refuses an event no longer pending)."""
        handed = self._handed.pop(sender, [])
        self._handed_count -= len(handed)
        if sender not in self._unread:
            done = self._handled_up_to.get(sender, 0)
            return [row for row in handed if row.id > done]
        self._unread.discard(sender)
        async with self.db.uow() as uow:
            rows = await uow.inbox.pending_of(sender, limit=READ_AHEAD)
        if len(rows) == READ_AHEAD:
            self._unread.add(sender)  # more than one read-ahead left
        return rows

    async def _read(self, row: PendingEvent) -> Read:
        """The neutral event a stored row holds: a platform update is read by its channel."""
        payload = row.payload
        if payload is None:  # nothing left to handle (its content was deleted)
            return Read(None)
        if RAW not in payload:
            return Read(Inbound.from_json(payload))
        reader = self.readers.get(row.channel)
        if reader is None:  # this process does not run the channel: keep it for one that does
            return Read(None, error="ChannelNotConfigured")
        try:
            return Read(await reader.read(payload[RAW]))
        except Exception:
            log.exception("event.unreadable", extra={"channel": row.channel})
            return Read(None)

    async def _handle_row(self, uow: UnitOfWork, row: PendingEvent, read: Read) -> Outcome:
        """Screen, handle and mark one event in the unit of work given; commits or not."""
        now = self.clock.now()
        if read.error is not None:
            await uow.inbox.fail(row.id, now=now, error=read.error)
            await uow.commit()
            return Outcome()
        event = read.event
        if event is None:  # nothing the bot acts on (a group leaving, an unreadable update)
            await uow.inbox.finish(row, now=now)
            await uow.commit()
            return Outcome()
        screened = event
        try:
            ctx = await self._context_for(uow, event)
            if has_words(event) and not _keeps_words(ctx):
                # Words from someone who has not consented: only what answering needs is
                # handled (a code, a cry for help), and the files are wiped after commit.
                screened = self._screen(event, ctx) if self._screen else event
                uow.scrub_after_commit()
            replies = await self._handle(screened, ctx)
            student_id = ctx.student.id if ctx.student is not None else None
            due_now = await enqueue(
                uow,
                replies,
                now=ctx.now,
                event=screened,
                sender_student_id=student_id,
                sender_is_stranger=ctx.student is None and ctx.counselor is None,
                reply_lease=self._reply_lease(event.channel),
            )
            if not await uow.inbox.finish(row, now=self.clock.now()):
                await uow.rollback()  # handled meanwhile by another process
                return Outcome()
            await uow.commit()
        except Exception as exc:
            log.exception("event.failed", extra={"channel": event.channel, "kind": event.kind})
            await uow.rollback()
            return Outcome(failed=Failure(row.id, screened, type(exc).__name__, screened != event))
        self._observe(row, "done")
        return Outcome(due_now=due_now)

    def _observe(self, row: PendingEvent, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.events_handled.labels(row.channel, outcome).inc()
            if outcome == "done":
                waited = (self.clock.now() - row.received_at).total_seconds()
                self.metrics.handling_seconds.labels(row.channel).observe(max(0.0, waited))

    async def _after(self, sender: str, outcome: Outcome) -> None:
        """After the commit: record a failure, then send what is due now."""
        due_now = outcome.due_now
        if outcome.failed is not None:
            due_now = await self._fail(sender, outcome.failed)
        await self._send(due_now)

    async def _fail(self, sender: str, failure: Failure) -> list[Due]:
        """Keep the event as failed (the admin retries it) and tell the person, once, that
        their message is kept: silence would look like the bot lost it."""
        event = failure.event
        async with self.db.uow() as uow:
            await uow.lock(sender)
            # Kept: the neutral event as screened, not the platform's update.
            attempts = await uow.inbox.fail(
                failure.row_id, now=self.clock.now(), error=failure.error, payload=event.to_json()
            )
            if attempts is None:  # another process handled it meanwhile
                return []
            if failure.screened:
                uow.scrub_after_commit()
            due_now: list[Due] = []
            if attempts == 1 and event.kind not in NO_APOLOGY:
                ctx = await self._apology_context(uow, event)
                student_id = ctx.student.id if ctx.student is not None else None
                apology = Reply(text=ctx.t._(APOLOGY))
                due_now = await enqueue(
                    uow, [apology], now=ctx.now, event=event, sender_student_id=student_id
                )
            await uow.commit()
        if self.metrics is not None:
            self.metrics.events_handled.labels(event.channel, "failed").inc()
        return due_now

    async def _apology_context(self, uow: UnitOfWork, event: Inbound) -> Context:
        """Who wrote, for their language; the platform's language (or the default) when the
        lookup itself is what failed."""
        try:
            ctx = await self._context_for(uow, event)
        except Exception:
            log.exception("event.failed_lookup", extra={"channel": event.channel})
            ctx = self.context(uow)
        if ctx.account is None:
            ctx.locale = negotiate(event.locale_hint) or ctx.locale
        return ctx

    async def _context_for(self, uow: UnitOfWork, event: Inbound) -> Context:
        ctx = self.context(uow)
        account, student, counselor = await uow.accounts.find_with_person(
            event.channel, event.user_id
        )
        ctx.account = account
        if student is not None:
            ctx.student, ctx.locale = student, student.locale
        elif counselor is not None:
            ctx.counselor, ctx.locale = counselor, counselor.locale
        return ctx

    def context(self, uow: UnitOfWork) -> Context:
        return Context(
            uow=uow,
            now=self.clock.now(),
            prompts=self.prompts,
            settings=self.settings,
            links=self.links,
            commands=self.commands,
        )

    # -- scheduled work ---------------------------------------------------------------
    async def run_job(self, job: Job, *, wait_for_sending: bool = True) -> int:
        """Run one scheduled job in its own unit of work; returns the messages it queued.

        Without `wait_for_sending` it returns once they are committed, and the sender sends
        them in the background: a job run in batches goes on to its next batch while the
        first is being sent."""
        async with self.db.uow() as uow:
            ctx = self.context(uow)
            replies = await job(ctx)
            due_now = await enqueue(uow, replies, now=ctx.now)
            await uow.commit()
        if wait_for_sending:
            await self._send(due_now)
        elif due_now and self.sender is not None:
            self.sender.send_soon(due_now)
        return len(replies)

    async def _send(self, due: list[Due]) -> None:
        if due and self.sender is not None:
            await self.sender.send_now(due)

    def _reply_lease(self, channel: str) -> timedelta | None:
        return self.sender.reply_lease(channel) if self.sender is not None else None


def _sender(event: Inbound) -> str:
    """The inbox's ordering key: whose event it is."""
    return f"{event.channel}:{event.user_id}"


def has_words(event: Inbound) -> bool:
    """Whether the event carries something the user typed."""
    return bool(event.text.strip() or event.args.strip())


def _keeps_words(ctx: Context) -> bool:
    """Whether what the sender types may be kept: a counselor, or a student who consented."""
    if ctx.counselor is not None:
        return True
    return ctx.student is not None and ctx.student.has_consented
