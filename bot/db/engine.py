"""Create the async engine with the settings each database needs."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from bot.db.sqlite_driver import OneTripDBAPI

# Seconds to wait for the one SQLite connection, or for another process's write lock (a CLI
# command); inside the process writers queue for the connection and never sleep on a lock.
SQLITE_WAIT = 30
PG_POOL_SIZE = 10
PG_RECYCLE = 1800  # seconds: a pooled connection is replaced before a server-side timeout


def create_engine(url: str, *, name: str = "furikaeri") -> AsyncEngine:
    """The engine of a running process. `name` shows in pg_stat_activity (the role)."""
    # hide_parameters: a database error in a log must not quote an answer it was storing.
    if url.startswith("sqlite"):
        # One connection: SQLite has one writer at a time anyway, and a writer that waits
        # for the pool's connection never sleeps in SQLite's busy handler.
        engine = create_async_engine(
            url,
            module=OneTripDBAPI(),
            connect_args={"timeout": SQLITE_WAIT},
            pool_size=1,
            max_overflow=0,
            pool_timeout=SQLITE_WAIT,
            hide_parameters=True,
        )
        _sqlite_events(engine)
        return engine
    # No pre-ping per checkout (a round trip each time): a connection the server dropped
    # fails once, SQLAlchemy then replaces the whole pool, and the work is retried (the
    # inbox keeps the event, the webhook answers 500 and the platform sends it again).
    return create_async_engine(
        url,
        pool_size=PG_POOL_SIZE,
        max_overflow=PG_POOL_SIZE,
        pool_recycle=PG_RECYCLE,
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": f"{name} {os.getpid()}"}},
    )


def create_test_engine(url: str) -> AsyncEngine:
    """An engine without a pool, for short-lived CLI commands and tests."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            module=OneTripDBAPI(),
            connect_args={"timeout": SQLITE_WAIT},
            poolclass=NullPool,
            hide_parameters=True,
        )
        _sqlite_events(engine)
        return engine
    return create_async_engine(url, poolclass=NullPool, hide_parameters=True)


def _sqlite_events(engine: AsyncEngine) -> None:
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    event.listen(engine.sync_engine, "begin", _begin_immediate)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy begins transactions itself (below), not the driver: no implicit BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_WAIT * 1000}")
    # Deleted answers are overwritten on disk, not just unlinked from the b-tree.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _begin_immediate(conn: Connection) -> None:
    """Take the write lock when a transaction begins: a transaction that read first and
    writes later can then never fail to upgrade its lock while another process writes.
    An AUTOCOMMIT connection (a WAL checkpoint) runs outside any transaction."""
    if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)
