"""outbox concerns and code attempts

Which students each outbox message concerns (so deleting a student finds every unsent
message quoting them), whether a message goes to a stranger (whose chat id is blanked once
sent), and recent wrong invite/link codes per chat (so guessing is throttled).

Revision ID: 0002
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("forget_chat", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    op.create_table(
        "outbox_concerns",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_outbox_concerns_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_outbox_concerns_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outbox_id", "student_id", name=op.f("pk_outbox_concerns")),
    )
    with op.batch_alter_table("outbox_concerns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_concerns_student_id"), ["student_id"], unique=False
        )

    op.create_table(
        "code_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_attempts")),
    )
    with op.batch_alter_table("code_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_attempts_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_code_attempts_chat_hash"), ["chat_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("code_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_attempts_chat_hash"))
        batch_op.drop_index(batch_op.f("ix_code_attempts_at"))
    op.drop_table("code_attempts")
    with op.batch_alter_table("outbox_concerns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_concerns_student_id"))
    op.drop_table("outbox_concerns")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("forget_chat")
