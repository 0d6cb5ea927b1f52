"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_head_names_the_newest_migration() -> None:
    # upgrade() trusts HEAD to skip Alembic at a start that has nothing to migrate.
    from alembic.script import ScriptDirectory

    from bot.db.migrate import HEAD, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD


def test_a_start_at_head_leaves_alembic_unloaded(tmp_path: Path) -> None:
    # Alembic stays in a process's memory once loaded (about 10 MB): a start that has
    # nothing to migrate must not load it.
    url = f"sqlite+aiosqlite:///{tmp_path / 'at-head.db'}"
    script = f"""
import asyncio, sys
from bot.db.engine import create_test_engine
from bot.db.migrate import HEAD, current_revision, upgrade

async def main():
    engine = create_test_engine({url!r})
    await upgrade(engine)
    await engine.dispose()
    print(await current_revision(create_test_engine({url!r})) == HEAD, "alembic" in sys.modules)

asyncio.run(main())
"""
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert first.stdout.split() == ["True", "True"], first.stderr  # migrated: Alembic ran
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert again.stdout.split() == ["True", "False"], again.stderr
