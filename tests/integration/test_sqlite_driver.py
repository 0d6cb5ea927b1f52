"""The SQLite driver (one trip to the database thread per statement) keeps what SQLAlchemy
and the repositories rely on: rows, row counts, inserted ids, errors, and a usable
connection after a failed statement."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.db.engine import create_engine
from bot.db.sqlite_driver import OneTripDBAPI


async def test_statements_report_rows_counts_ids_and_errors(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    assert isinstance(engine.dialect.dbapi, OneTripDBAPI)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
            inserted = await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
            assert inserted.lastrowid == 1
            many = await conn.execute(
                text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}]
            )
            assert many.rowcount == 2
            updated = await conn.execute(text("UPDATE t SET v = v || '!' WHERE id > 1"))
            assert updated.rowcount == 2
            returned = await conn.execute(text("INSERT INTO t (v) VALUES ('d') RETURNING id, v"))
            assert returned.all() == [(4, "d")]
            rows = await conn.execute(text("SELECT id, v FROM t ORDER BY id"))
            assert list(rows.keys()) == ["id", "v"]
            assert rows.all() == [(1, "a"), (2, "b!"), (3, "c!"), (4, "d")]
        async with engine.connect() as conn:
            with pytest.raises(IntegrityError):
                await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
            await conn.rollback()
            count = await conn.scalar(text("SELECT count(*) FROM t"))
            assert count == 4  # the failed insert changed nothing; the connection still works
    finally:
        await engine.dispose()
