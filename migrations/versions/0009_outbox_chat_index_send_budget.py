"""outbox: an index for claims by chat; send_budget: a send rate shared by processes

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_channel_chat_id_status_sent_at",
        "outbox",
        ["channel", "chat_id", "status", "sent_at"],
    )
    op.create_table(
        "send_budget",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_send_budget")),
    )


def downgrade() -> None:
    op.drop_table("send_budget")
    op.drop_index("ix_outbox_channel_chat_id_status_sent_at", table_name="outbox")
