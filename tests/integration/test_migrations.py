"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from bot.db.engine import create_test_engine
from bot.db.migrate import schema_drift, upgrade
from bot.db.models import Base


async def test_upgrade_head_on_an_empty_database_matches_the_models(database_url: str) -> None:
    engine = create_test_engine(database_url)
    try:
        await upgrade(engine)
        assert await schema_drift(engine) == []
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables
        await upgrade(engine)  # a second upgrade is a no-op, as at every start
    finally:
        await engine.dispose()
