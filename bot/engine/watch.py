"""The worker's ear: handle the inbox whenever new events may be there.

Woken right away by a PostgreSQL notification (the web process's intake sends one with
each commit) or by this process's own intake; otherwise it polls, quickly after work was
found and backing off to a few seconds when the inbox stays empty. The poll also finds
events queued again by the admin and those a crashed worker left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

log = logging.getLogger(__name__)

MIN_POLL = 0.05  # seconds
MAX_POLL_POLLING = 1.0  # without notifications: an event waits at most this long
MAX_POLL_LISTENING = 5.0  # with them, the poll is only a safety net


class Inbox(Protocol):
    async def process_pending(self) -> int: ...


class Notifications(Protocol):
    @property
    def listening(self) -> bool: ...

    async def connect(self) -> bool: ...

    async def close(self) -> None: ...


class InboxWatch:
    def __init__(
        self, inbox: Inbox, notifications: Notifications | None = None, *, local: bool = False
    ) -> None:
        self._inbox = inbox
        self._notifications = notifications
        self._local = local  # this process's own intake starts the handling of what it takes
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-watch")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._notifications is not None:
            await self._notifications.close()

    async def _run(self) -> None:
        delay = 0.0  # the first round at once: what waited while the process was down
        while not self._stopping:
            if delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            if self._stopping:
                return
            listening = await self._listen()
            try:
                found = await self._inbox.process_pending()
            except Exception as exc:
                log.warning("inbox.poll_failed", extra={"error": type(exc).__name__})
                found = 0
            ceiling = MAX_POLL_LISTENING if listening or self._local else MAX_POLL_POLLING
            delay = MIN_POLL if found else min(ceiling, max(MIN_POLL, delay * 2))

    async def _listen(self) -> bool:
        if self._notifications is None:
            return False
        return self._notifications.listening or await self._notifications.connect()
