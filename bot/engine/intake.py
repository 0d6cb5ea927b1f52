"""Group commit: many concurrent webhooks, one INSERT (committed on its own) for all of them.

Each caller waits until its own events are committed (a webhook answers 200 only then).
While one batch is being written, the events arriving meanwhile queue up and go in the
next one, so under load a batch grows to what came in during one write, and when the
load is light an event waits for nothing but its own write. One writer: the events are
committed, and get their ids (the order they are handled in), in the order they came.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from bot.clock import Clock
from bot.db.repo_messaging import InboxIntake, NewEvent, PendingEvent
from bot.db.uow import Database

log = logging.getLogger(__name__)

MAX_BATCH = 500  # events per INSERT (8 parameters each; far below SQLite's 32,766)

# Told the new events as the inbox now holds them (their row ids, in order).
Committed = Callable[[list[PendingEvent]], None]


class GroupCommit:
    """The inbox's writer: `add` returns once the events are durable."""

    def __init__(self, db: Database, clock: Clock, *, committed: Committed | None = None) -> None:
        self.db = db
        self.clock = clock
        # Told (synchronously, right after each write) which events were new.
        self.committed = committed
        self._queue: list[tuple[list[NewEvent], asyncio.Future[list[bool]]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, events: Sequence[NewEvent]) -> list[bool]:
        """Commit the events; per event, False when its key was already in the inbox (or
        earlier in the same batch)."""
        if not events:
            return []
        future: asyncio.Future[list[bool]] = asyncio.get_running_loop().create_future()
        self._queue.append((list(events), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="inbox-group-commit")
        # A cancelled request cancels only its own future: the write runs in the writer's
        # task, which the others wait for, and skips a future already done.
        return await future

    async def idle(self) -> None:
        """Wait until everything added so far is written (or failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write_all(self) -> None:
        while self._queue:
            batch: list[tuple[list[NewEvent], asyncio.Future[list[bool]]]] = []
            connected = False
            try:
                # The batch is taken once the connection is this writer's: what came in
                # while it waited for it (SQLite: its turn) goes in the same INSERT. The
                # connection is kept while more wait, except where others need it between
                # two batches (SQLite's one connection: units of work take turns with it).
                async with self.db.intake() as inbox:
                    connected = True
                    while self._queue:
                        batch = self._take()
                        fresh = await self._write(
                            inbox, [event for events, _ in batch for event in events]
                        )
                        _deliver(batch, fresh)
                        batch = []
                        if not inbox.held_between_batches:
                            break
            except Exception as exc:
                log.error("inbox.write_failed", extra={"error": type(exc).__name__})
                # The batch being written fails; with no connection at all, the oldest
                # waiting batch does (its webhooks answer 500 and the platform retries).
                for _, future in batch or ([] if connected else self._take()):
                    if not future.done():
                        future.set_exception(exc)  # (a waiting task's wake-up retrieves it)

    def _take(self) -> list[tuple[list[NewEvent], asyncio.Future[list[bool]]]]:
        taken, size = 0, 0
        for events, _ in self._queue:
            if taken and size + len(events) > MAX_BATCH:
                break
            taken, size = taken + 1, size + len(events)
        batch, self._queue = self._queue[:taken], self._queue[taken:]
        return batch

    async def _write(self, inbox: InboxIntake, events: list[NewEvent]) -> list[bool]:
        """One INSERT … ON CONFLICT DO NOTHING, committed on its own (on PostgreSQL its
        commit wakes the workers of other processes); per event, whether it is new."""
        now = self.clock.now()
        inserted = await inbox.add_many(events, now=now)
        fresh: list[bool] = []
        new: list[PendingEvent] = []
        for event in events:
            # A key twice in one batch: the first one is the new one.
            row_id = inserted.pop((event.channel, event.event_id), None)
            fresh.append(row_id is not None)
            if row_id is not None:
                new.append(PendingEvent(row_id, event.channel, event.sender, event.payload, now))
        if new and self.committed is not None:
            self.committed(sorted(new, key=lambda row: row.id))
        return fresh


def _deliver(
    batch: list[tuple[list[NewEvent], asyncio.Future[list[bool]]]], fresh: list[bool]
) -> None:
    """Tell each caller of the batch which of its events were new."""
    start = 0
    for events, future in batch:
        if not future.done():
            future.set_result(fresh[start : start + len(events)])
        start += len(events)
