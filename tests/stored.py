"""What a database holds, seen from outside the app: every row of every table, and (SQLite)
the raw bytes of the database files. For tests that prove something is not kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.db.models import Base
from bot.db.uow import Database

SQLITE_FILE_SUFFIXES = ("", "-wal", "-journal")
T = TypeVar("T")


async def rows_of(db: Database, model: type[T], **where: Any) -> list[T]:
    """Rows of one table (a model class), detached: readable after the session is gone."""
    async with db.uow() as uow:
        rows = list((await uow.session.scalars(select(model).filter_by(**where))).all())
        uow.session.expunge_all()
        return rows


async def all_rows(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as plain values."""
    tables: dict[str, list[dict[str, Any]]] = {}
    async with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(select(table))).mappings().all()
            tables[table.name] = [dict(row) for row in rows]
    return tables


MESSAGING = ("inbox", "outbox", "outbox_concerns", "send_budget")


async def kept_about_people(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every table but the inbox and outbox (with whom each message concerns, and the send
    rate they share): what the bot keeps about people, as opposed to the events it took in
    and the replies it queued."""
    return {name: rows for name, rows in (await all_rows(db)).items() if name not in MESSAGING}


async def stored_text(db: Database) -> str:
    """Every value stored anywhere, as one searchable text (JSON values kept unescaped)."""
    return json.dumps(await all_rows(db), ensure_ascii=False, default=str)


def sqlite_files(database_url: str) -> list[Path]:
    """The SQLite database file and its journal files, those that exist."""
    path = Path(str(make_url(database_url).database))
    candidates = [path.with_name(path.name + suffix) for suffix in SQLITE_FILE_SUFFIXES]
    return [p for p in candidates if p.exists()]


def sqlite_bytes(database_url: str) -> bytes:
    """The raw bytes of the database file, its write-ahead log and rollback journal."""
    return b"".join(p.read_bytes() for p in sqlite_files(database_url))
