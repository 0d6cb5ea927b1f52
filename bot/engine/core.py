"""The engine: inbox in, one unit of work per event, outbox out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Protocol

from bot.clock import Clock
from bot.config import Settings
from bot.db.uow import Database, UnitOfWork
from bot.engine.context import Context
from bot.engine.events import Inbound, Kind
from bot.engine.outbox_writer import Due, enqueue
from bot.engine.replies import Reply
from bot.i18n import N_, negotiate
from bot.prompts import PromptBook

log = logging.getLogger(__name__)

EventHandler = Callable[[Inbound, Context], Awaitable[list[Reply]]]
Job = Callable[[Context], Awaitable[list[Reply]]]
# What of an event from someone who has not consented may be stored until it is handled.
Screen = Callable[[Inbound, Context], Inbound]

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


class Engine:
    """Implements EventSink for the channels and runs scheduled jobs in units of work."""

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
    ) -> None:
        self.db = db
        self._handle = handle
        self._screen = screen
        self.prompts = prompts
        self.settings = settings
        self.clock = clock
        # The very dict given: bootstrap fills it after the channels are built.
        self.links = {} if links is None else links
        self.sender: Sender | None = None
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # sender -> (lock, users)
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the inbound port -------------------------------------------------------------
    async def receive(self, event: Inbound) -> bool:
        """Commit the event to the inbox, then handle it in the background."""
        sender = f"{event.channel}:{event.user_id}"
        async with self.db.uow() as uow:
            stored = await self._storable(uow, event, sender)
            row_id = await uow.inbox.add(
                channel=event.channel,
                event_id=event.event_id,
                sender=sender,
                payload=stored.to_json(),
                now=self.clock.now(),
            )
            await uow.commit()
        if row_id is None:
            log.info("inbox.duplicate", extra={"channel": event.channel})
            return False
        task = asyncio.create_task(self._process_logged(sender))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _storable(self, uow: UnitOfWork, event: Inbound, sender: str) -> Inbound:
        """The event, or (from someone who has not consented) only what handling it needs:
        the words a student types before consenting never reach the database files."""
        if self._screen is None or not has_words(event):
            return event
        if await uow.accounts.may_keep_words(event.channel, event.user_id):
            return event
        if await uow.inbox.has_pending(sender):
            return event  # e.g. "I agree" not handled yet: these may be the first answer
        # Asked again: a consent committed between the two questions above shows now.
        if await uow.accounts.may_keep_words(event.channel, event.user_id):
            return event
        return self._screen(event, self.context(uow))

    async def _process_logged(self, sender: str) -> None:
        try:
            await self.process_sender(sender)
        except Exception:
            # The event stays in the inbox and is handled at the next start or drain.
            log.exception("inbox.processing_failed", extra={"channel": sender.split(":", 1)[0]})

    async def drain(self) -> None:
        """Wait until every event received so far is handled (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def process_pending(self) -> None:
        """Handle pending events: left by a crash or a restart, or queued again by the admin
        (`furikaeri inbox retry`). Runs at start and on a clock tick."""
        async with self.db.uow() as uow:
            senders = await uow.inbox.pending_senders()
        for sender in senders:
            await self.process_sender(sender)

    async def process_sender(self, sender: str) -> None:
        """Handle one sender's pending events in order, one at a time."""
        lock, users = self._locks.get(sender, (asyncio.Lock(), 0))
        self._locks[sender] = (lock, users + 1)
        try:
            async with lock:
                while await self._handle_next(sender):
                    pass
        finally:
            lock, users = self._locks[sender]
            if users <= 1:
                del self._locks[sender]
            else:
                self._locks[sender] = (lock, users - 1)

    async def _handle_next(self, sender: str) -> bool:
        due_now: list[Due] = []
        error: str | None = None
        async with self.db.uow() as uow:
            await uow.lock(sender)
            row = await uow.inbox.next_pending(sender)
            if row is None:
                return False
            if row.payload is None:  # nothing left to handle (its content was deleted)
                await uow.inbox.finish(row, now=self.clock.now())
                await uow.commit()
                return True
            event, row_id = Inbound.from_json(row.payload), row.id
            try:
                ctx = await self._context_for(uow, event)
                if has_words(event) and not _keeps_words(ctx):
                    # Words stored only to be handled (a code, a cry for help, or a message
                    # sent just before consent): wipe them from the files once dropped.
                    uow.scrub_after_commit()
                replies = await self._handle(event, ctx)
                student_id = ctx.student.id if ctx.student is not None else None
                due_now = await enqueue(
                    uow,
                    replies,
                    now=ctx.now,
                    event=event,
                    sender_student_id=student_id,
                    sender_is_stranger=ctx.student is None and ctx.counselor is None,
                    reply_lease=self._reply_lease(event.channel),
                )
                await uow.inbox.finish(row, now=self.clock.now())
                await uow.commit()
            except Exception as exc:
                log.exception("event.failed", extra={"channel": event.channel, "kind": event.kind})
                await uow.rollback()
                error = type(exc).__name__
        if error is not None:
            due_now = await self._fail(sender, row_id, event, error)
        await self._send(due_now)
        return True

    async def _fail(self, sender: str, row_id: int, event: Inbound, error: str) -> list[Due]:
        """Keep the event as failed (the admin retries it) and tell the person, once, that
        their message is kept: silence would look like the bot lost it."""
        async with self.db.uow() as uow:
            await uow.lock(sender)
            row = await uow.inbox.fail(row_id, now=self.clock.now(), error=error)
            if row is None:  # another process handled it meanwhile
                return []
            due_now: list[Due] = []
            if row.attempts == 1 and event.kind not in NO_APOLOGY:
                ctx = await self._apology_context(uow, event)
                student_id = ctx.student.id if ctx.student is not None else None
                apology = Reply(text=ctx.t._(APOLOGY))
                due_now = await enqueue(
                    uow, [apology], now=ctx.now, event=event, sender_student_id=student_id
                )
            await uow.commit()
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
        account = await uow.accounts.find(event.channel, event.user_id)
        ctx.account = account
        if account is not None and account.student_id is not None:
            ctx.student = await uow.students.get(account.student_id)
            if ctx.student is not None:
                ctx.locale = ctx.student.locale
        elif account is not None and account.counselor_id is not None:
            ctx.counselor = await uow.counselors.get(account.counselor_id)
            if ctx.counselor is not None:
                ctx.locale = ctx.counselor.locale
        return ctx

    def context(self, uow: UnitOfWork) -> Context:
        return Context(
            uow=uow,
            now=self.clock.now(),
            prompts=self.prompts,
            settings=self.settings,
            links=self.links,
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


def has_words(event: Inbound) -> bool:
    """Whether the event carries something the user typed."""
    return bool(event.text.strip() or event.args.strip())


def _keeps_words(ctx: Context) -> bool:
    """Whether what the sender types may be kept: a counselor, or a student who consented."""
    if ctx.counselor is not None:
        return True
    return ctx.student is not None and ctx.student.consent == "given"
