"""Run Alembic migrations from code (`furikaeri db upgrade`, and at start of run/demo)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import Base
from bot.paths import data_dir

MIGRATION_LOCK = 0x66726B6D  # "frkm": the advisory lock key of a running migration


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(data_dir("migrations")))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind `engine` to `revision`."""

    def _run(connection):  # type: ignore[no-untyped-def]
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Processes started together (one web, several workers) migrate one at a time;
            # the later ones find the schema at head and change nothing.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(_run)


async def schema_drift(engine: AsyncEngine) -> list[object]:
    """Differences between the models and the migrated schema (empty when they match)."""

    def _compare(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        return list(await conn.run_sync(_compare))
