"""indexes for reading the audit log and usage

``GET /api/v1/audit-log`` filters by target or by actor and pages newest first, so both
indexes end in ``(created_at, id)``: a page is one range read in index order. The target
index replaces ``ix_audit_log_target`` (its prefix). ``GET /api/v1/usage`` for a member
reads only their rows of the window: ``(user_id, created_at)``. Admins' usage over a window
uses ``ix_usage_events_created``, which exists since 0001.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 19:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_target_created",
            ["target_type", "target_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_audit_log_actor_created", ["actor_id", "created_at", "id"], unique=False
        )
        batch_op.drop_index("ix_audit_log_target")
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_events_user_created", ["user_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_events_user_created")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_target", ["target_type", "target_id"], unique=False)
        batch_op.drop_index("ix_audit_log_actor_created")
        batch_op.drop_index("ix_audit_log_target_created")
