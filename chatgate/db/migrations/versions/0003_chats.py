"""chats: one reply at a time, and the purge's index

``chats.reply_lease_until`` is claimed by one conditional UPDATE when a message is posted
(SPEC §10: one reply at a time per chat, held by the database, not by a check in code);
``ix_chats_archived_updated`` lets the retention purge walk archived chats oldest first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chatgate.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reply_lease_until",
                chatgate.db.types.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.create_index(
            "ix_chats_archived_updated", ["archived", "updated_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_index("ix_chats_archived_updated")
        batch_op.drop_column("reply_lease_until")
