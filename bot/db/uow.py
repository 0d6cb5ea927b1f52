"""The unit of work: one transaction per inbound event, scheduled job or CLI command.

Repositories never commit; the code that opened the unit of work does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db.engine import SQLITE_WAIT, sessionmaker
from bot.db.gate import Gate
from bot.db.repo_budget import SendBudgets
from bot.db.repo_digest import DigestReads
from bot.db.repo_messaging import Inbox, InboxIntake, Outbox, States
from bot.db.repo_people import Accounts, CodeAttempts, Codes, Counselors, Students
from bot.db.repo_reflection import Answers, Audit, Runs, Sessions
from bot.db.repo_translations import Translations
from bot.db.scrub import scrub, scrub_after_commit, take_scrub_request


class UnitOfWork:
    def __init__(self, session: AsyncSession, *, shared: bool = False) -> None:
        self.session = session
        self.shared = shared
        self.counselors = Counselors(session)
        self.students = Students(session)
        self.accounts = Accounts(session)
        self.codes = Codes(session)
        self.code_attempts = CodeAttempts(session)
        self.sessions = Sessions(session)
        self.runs = Runs(session)
        self.answers = Answers(session)
        self.inbox = Inbox(session)
        self.outbox = Outbox(session)
        self.send_budget = SendBudgets(session)
        self.states = States(session)
        self.audit = Audit(session)
        self.translations = Translations(session)
        self.digest = DigestReads(session)

    @property
    def is_postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def lock(self, key: str) -> None:
        """Serialize work on one key (a student's events) across processes on PostgreSQL,
        when several run (one process orders its work itself)."""
        if self.shared:
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key}
            )

    async def analyze(self) -> None:
        """Refresh the query planner's statistics (after a bulk load, as autovacuum would)."""
        await self.session.execute(text("ANALYZE"))

    async def try_lock(self, key: str) -> bool:
        """Like lock(), without waiting: False when another process holds the key."""
        if not self.shared:
            return True
        query = text("SELECT pg_try_advisory_xact_lock(hashtext(:key))")
        return bool(await self.session.scalar(query, {"key": key}))

    async def commit(self) -> None:
        await self.session.commit()
        if take_scrub_request(self.session):  # personal data was deleted: wipe the files too
            await scrub(self.session)

    def scrub_after_commit(self) -> None:
        """Wipe deleted personal data from the database files once this commits."""
        scrub_after_commit(self.session)

    async def rollback(self) -> None:
        await self.session.rollback()


class Database:
    """The engine and a factory of units of work; built once in the composition root."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions: async_sessionmaker[Any] = sessionmaker(engine)
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        # Several processes handle events on this (PostgreSQL) database: each student's
        # events are then serialized by advisory locks. Set by the composition root.
        self.shared = False
        # SQLite: turns at its one connection, in order, the intake first (bot/db/gate.py).
        self._gate = Gate(SQLITE_WAIT) if engine.dialect.name == "sqlite" else None

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def uow(self) -> _UowContext:
        return _UowContext(self._sessions, self.shared, self._gate)

    @contextlib.asynccontextmanager
    async def intake(self) -> AsyncIterator[InboxIntake]:
        """A bare connection for the inbox's intake (no session), in autocommit: each
        statement is committed (durably) before it returns."""
        if self._gate is not None:
            await self._gate.acquire(intake=True)
        try:
            async with self._autocommit.connect() as connection:
                yield InboxIntake(connection, held_between_batches=self._gate is None)
        finally:
            if self._gate is not None:
                self._gate.release()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


class _UowContext:
    def __init__(self, factory: async_sessionmaker[Any], shared: bool, gate: Gate | None) -> None:
        self._factory = factory
        self._shared = shared
        self._gate = gate
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> UnitOfWork:
        if self._gate is not None:
            await self._gate.acquire()
        try:
            self._session = self._factory()
        except BaseException:
            if self._gate is not None:
                self._gate.release()
            raise
        return UnitOfWork(self._session, shared=self._shared)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            if exc_type is not None or self._session.in_transaction():
                # Whatever was not committed explicitly is rolled back.
                await self._session.rollback()
        finally:
            try:
                await self._session.close()
            finally:
                if self._gate is not None:
                    self._gate.release()
