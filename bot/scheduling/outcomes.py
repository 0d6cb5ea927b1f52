"""What became of each send, written to the outbox in batches (group commit).

Each send waits until its outcome is committed, but whoever writes takes everything that
waits at that moment: under load many outcomes share one transaction, and a lone reply is
written at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from bot.db.uow import Database


@dataclass(frozen=True)
class Outcome:
    """One row's outcome: sent (when), to retry (when), or failed."""

    row_id: int
    sent_at: datetime | None = None
    retry_at: datetime | None = None
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.sent_at is None and self.retry_at is None


class OutcomeWriter:
    def __init__(self, db: Database, *, linger: float = 0.02) -> None:
        self.db = db
        self.linger = linger  # seconds the writer waits for more when others are sending
        self._waiting: list[tuple[Outcome, asyncio.Future[None]]] = []
        self._lock = asyncio.Lock()

    async def record(self, outcome: Outcome, *, others_sending: bool = False) -> None:
        """Return once the outcome is committed (with whatever else waited)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, done))
        async with self._lock:
            if not done.done():
                if others_sending and self.linger:
                    await asyncio.sleep(self.linger)
                batch, self._waiting = self._waiting, []
                try:
                    await self._write([o for o, _ in batch])
                except BaseException:
                    # Not written: the next writer tries them again, this one reports it.
                    self._waiting = [item for item in batch if item[1] is not done] + self._waiting
                    raise
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        await done

    async def _write(self, batch: list[Outcome]) -> None:
        async with self.db.uow() as uow:
            await uow.outbox.mark_sent_many(
                [(o.row_id, o.sent_at) for o in batch if o.sent_at is not None]
            )
            for o in batch:
                if o.retry_at is not None:
                    await uow.outbox.release(o.row_id, due_at=o.retry_at, error=o.error)
                elif o.failed:
                    await uow.outbox.mark_failed(o.row_id, error=o.error[:200])
            await uow.commit()
