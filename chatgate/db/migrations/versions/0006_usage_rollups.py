"""usage rollups

Hourly and daily usage totals per grouping, so ``GET /api/v1/usage`` over a month reads a
few thousand rows (``chatgate.usage.rollup``). The usage recorder maintains them from now
on. A database that already holds usage rows gets the setting ``usage_rollups_from`` (the
next whole hour): reads before it keep using the usage rows themselves, so no backfill is
needed and nothing is counted twice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 21:50:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import chatgate.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_rollups",
        sa.Column("group_by", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("period_start", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("group_value", sa.String(length=96), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("latency_histogram", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint(
            "group_by", "period", "period_start", "group_value", name=op.f("pk_usage_rollups")
        ),
    )
    connection = op.get_bind()
    if connection.execute(sa.text("SELECT 1 FROM usage_events LIMIT 1")).first() is None:
        return
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    settings = sa.table(
        "settings",
        sa.column("name", sa.String),
        sa.column("value", sa.JSON),
        sa.column("updated_at", chatgate.db.types.UtcDateTime(timezone=True)),
        sa.column("updated_by", sa.Uuid),
    )
    op.bulk_insert(
        settings,
        [
            {
                "name": "usage_rollups_from",
                "value": start.isoformat(),
                "updated_at": now,
                "updated_by": None,
            }
        ],
    )


def downgrade() -> None:
    op.execute("DELETE FROM settings WHERE name = 'usage_rollups_from'")
    op.drop_table("usage_rollups")
