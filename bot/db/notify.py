"""PostgreSQL LISTEN: one dedicated connection that hears about new inbox rows at once."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bot.db.repo_messaging import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0


def asyncpg_dsn(database_url: str) -> str:
    """The plain libpq URL asyncpg takes, from SQLAlchemy's `postgresql+asyncpg://…`."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Listener:
    """LISTENs on the inbox channel and calls `wake` for each notification. Without it
    (SQLite, or the connection is down) the watcher polls; it reconnects on its own."""

    def __init__(self, database_url: str, wake: Callable[[], None], *, name: str) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._wake = wake
        self._name = name
        self._conn: Any = None

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def connect(self) -> bool:
        """(Re)connect and LISTEN; False (logged, no secret) when the server is not there."""
        if self.listening:
            return True
        await self.close()
        try:
            conn = await asyncpg.connect(
                self._dsn,
                timeout=CONNECT_TIMEOUT,
                server_settings={"application_name": f"{self._name} {os.getpid()} listen"},
            )
            await conn.add_listener(NOTIFY_CHANNEL, self._notified)
        except Exception as exc:
            log.warning("inbox.listen_failed", extra={"error": type(exc).__name__})
            return False
        self._conn = conn
        return True

    def _notified(self, *_args: object) -> None:
        self._wake()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()
