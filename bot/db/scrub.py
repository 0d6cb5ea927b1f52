"""Make deleted personal data unrecoverable from the database files, after a commit.

On SQLite, `PRAGMA secure_delete` (bot/db/engine.py) zeroes deleted rows in the pages, but
the write-ahead log (`<db>-wal`) still holds the old page images until it is checkpointed
and truncated; that is done here. On PostgreSQL deleted rows stay in the table files as dead
tuples until VACUUM reuses their space, which autovacuum does on its own schedule; see
docs/privacy.md.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

log = logging.getLogger(__name__)

_FLAG = "furikaeri.scrub"
ATTEMPTS = 5


def scrub_after_commit(session: AsyncSession) -> None:
    """Ask the unit of work to scrub the database files once this transaction commits."""
    session.info[_FLAG] = True


def take_scrub_request(session: AsyncSession) -> bool:
    """True (once) when the committed transaction asked for a scrub."""
    return bool(session.info.pop(_FLAG, False))


async def scrub(session: AsyncSession) -> bool:
    """Checkpoint and truncate SQLite's write-ahead log; True when it is empty now."""
    engine = session.bind
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "sqlite":
        return True
    for _ in range(ATTEMPTS):
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            row = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
        # (busy, frames in the log, frames checkpointed); busy=1: a reader held it back.
        if row is not None and row[0] == 0:
            return True
    log.warning("db.scrub_incomplete")
    return False
