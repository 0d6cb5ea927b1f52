"""Turns at SQLite's one connection: handed out in order, the inbox's intake first.

On SQLite a process has one connection (bot/db/engine.py), and every unit of work and
every intake write waits for it. The pool hands it to whoever asks at the moment it comes
back, so a task that keeps asking can overtake one that has waited for seconds. Here the
waiters queue: a webhook's intake write (a 200 waits for it) goes before the units of work
waiting, but never twice in a row while one of them waits, so handling is never starved.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Gate:
    """One holder at a time, first come first served, the intake ahead of the others."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout  # seconds a turn is waited for, as for the pool's connection
        self._held = False
        self._intake: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()
        self._last_was_intake = False

    async def acquire(self, *, intake: bool = False) -> None:
        """Wait for this caller's turn; TimeoutError after `timeout` seconds."""
        if not self._held and not self._intake and not self._others:
            self._held, self._last_was_intake = True, intake
            return
        turn = asyncio.get_running_loop().create_future()
        queue = self._intake if intake else self._others
        queue.append(turn)
        try:
            async with asyncio.timeout(self.timeout):
                await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.release()  # the turn came just as the caller gave up: pass it on
            elif turn in queue:
                queue.remove(turn)
            raise

    def release(self) -> None:
        """End this turn: the next waiter's begins (an intake write, unless the last turn
        was one and a unit of work waits)."""
        order = (
            (self._others, self._intake) if self._last_was_intake else (self._intake, self._others)
        )
        for queue in order:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    self._last_was_intake = queue is self._intake
                    turn.set_result(None)  # the turn passes on directly: still held
                    return
        self._held = False
