"""Run Alembic migrations from code (`furikaeri db upgrade`, and at start of run/demo).

Alembic is imported only when there is something to migrate: loaded, it stays in the
process's memory (about 10 MB) for as long as the bot runs, and a restart finds the
schema at HEAD nearly every time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import Base
from bot.paths import data_dir

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATION_LOCK = 0x66726B6D  # "frkm": the advisory lock key of a running migration
# The newest migration in migrations/versions (tests/integration/test_migrations.py checks
# it is Alembic's head): a new migration moves it.
HEAD = "0009"


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(data_dir("migrations")))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind `engine` to `revision`."""

    def _run(connection):  # type: ignore[no-untyped-def]
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    if revision == "head" and await current_revision(engine) == HEAD:
        return
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Processes started together (one web, several workers) migrate one at a time;
            # the later ones find the schema at head and change nothing.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(_run)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at (None: not migrated yet)."""

    def _has_version_table(connection):  # type: ignore[no-untyped-def]
        return inspect(connection).has_table("alembic_version")

    async with engine.connect() as conn:
        if not await conn.run_sync(_has_version_table):
            return None
        return await conn.scalar(text("SELECT version_num FROM alembic_version"))


async def schema_drift(engine: AsyncEngine) -> list[object]:
    """Differences between the models and the migrated schema (empty when they match)."""

    def _compare(connection):  # type: ignore[no-untyped-def]
        from alembic.autogenerate import compare_metadata
        from alembic.runtime.migration import MigrationContext

        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        return list(await conn.run_sync(_compare))
