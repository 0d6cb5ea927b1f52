"""inbox notify: on PostgreSQL, a new inbox row wakes the workers (LISTEN furikaeri_inbox)

The notification goes out with the commit of the INSERT itself, so the web process's
intake needs no statement of its own for it. SQLite has one process: nothing to do.

Revision ID: 0008
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION furikaeri_inbox_notify() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('furikaeri_inbox', '');
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        """
        CREATE TRIGGER inbox_notify AFTER INSERT ON inbox
        FOR EACH STATEMENT EXECUTE FUNCTION furikaeri_inbox_notify()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS inbox_notify ON inbox")
    op.execute("DROP FUNCTION IF EXISTS furikaeri_inbox_notify()")
