"""The translation job: claim queued answers, translate them in batches, store the results.

A batch is claimed in one committed transaction (a lease), translated with no transaction
open (a slow service holds no lock), and recorded in another. A service that is down,
overloaded or slow puts the batch back with exponential backoff, however long it takes;
one that refuses (bad key, quota) is retried a few times and then given up on. Pairs the
service does not offer are marked unsupported at once. Nothing here logs answer text.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta

from bot.clock import Clock
from bot.db.repo_translations import Claimed
from bot.db.uow import Database
from bot.translate.port import (
    MachineTranslator,
    Translated,
    TranslatorRejected,
    TranslatorUnavailable,
)
from bot.translate.queue import AUTO

log = logging.getLogger(__name__)

BATCH = 25  # texts per request; DeepL takes up to 50, LibreTranslate any
CLAIM = 100  # rows claimed per round
MAX_REFUSED_ATTEMPTS = 6


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


class TranslationWorker:
    def __init__(self, *, db: Database, translator: MachineTranslator, clock: Clock) -> None:
        self.db = db
        self.translator = translator
        self.clock = clock
        self._lock = asyncio.Lock()

    @property
    def lease(self) -> timedelta:
        """Longer than a call may take (the adapters time out), so no row is claimed twice."""
        timeout = float(getattr(self.translator, "timeout", 60.0))
        return timedelta(seconds=max(120.0, 4 * timeout))

    async def tick(self) -> int:
        """Translate everything due; returns how many rows were tried."""
        async with self._lock:
            total = 0
            while True:
                async with self.db.uow() as uow:
                    claimed = await uow.translations.claim(
                        now=self.clock.now(), lease=self.lease, limit=CLAIM
                    )
                    await uow.commit()
                if not claimed:
                    return total
                total += len(claimed)
                groups: dict[tuple[str, str], list[Claimed]] = defaultdict(list)
                for row in claimed:
                    groups[(row.source, row.target)].append(row)
                for (source, target), rows in groups.items():
                    for start in range(0, len(rows), BATCH):
                        await self._translate(rows[start : start + BATCH], source, target)

    async def _translate(self, rows: list[Claimed], source: str, target: str) -> None:
        provider = self.translator.name
        asked = None if source == AUTO else source
        try:
            if not await self.translator.supports(asked, target):
                await self._record(rows, [None] * len(rows), status="unsupported")
                log.info(
                    "translation.unsupported",
                    extra={"provider": provider, "source": source, "target": target},
                )
                return
            results = await self.translator.translate(
                [row.original for row in rows], source=asked, target=target
            )
        except (TranslatorUnavailable, TranslatorRejected) as exc:
            await self._later(rows, exc)
            return
        await self._record(rows, list(results), status="done")

    async def _record(
        self, rows: list[Claimed], results: list[Translated | None], *, status: str
    ) -> None:
        now = self.clock.now()
        async with self.db.uow() as uow:
            for row, result in zip(rows, results, strict=True):
                outcome, text = status, result.text if result else None
                if result is not None and result.source == row.target:
                    outcome, text = "same", None  # written in the counselor's language
                await uow.translations.complete(
                    row.id,
                    original=row.original,
                    text=text,
                    status=outcome,
                    provider=self.translator.name,
                    source=result.source if result else None,
                    now=now,
                )
            await uow.commit()

    async def _later(
        self, rows: list[Claimed], error: TranslatorUnavailable | TranslatorRejected
    ) -> None:
        now = self.clock.now()
        refused = isinstance(error, TranslatorRejected)
        give_up = [r.id for r in rows if refused and r.attempts >= MAX_REFUSED_ATTEMPTS]
        log.warning(
            "translation.refused" if refused else "translation.unavailable",
            extra={
                "provider": self.translator.name,
                "status": error.status,
                "error": str(error),  # a fixed reason or an exception class, never text
                "rows": len(rows),
                "given_up": len(give_up),
            },
        )
        async with self.db.uow() as uow:
            for row in rows:
                if row.id not in give_up:
                    await uow.translations.retry_later([row.id], at=now + backoff(row.attempts))
            if give_up:
                await uow.translations.give_up(give_up, provider=self.translator.name, now=now)
            await uow.commit()
