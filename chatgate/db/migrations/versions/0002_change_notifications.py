"""change notifications and shared key cooldowns

Every committed change to what the in-process snapshots hold is announced on PostgreSQL
with ``pg_notify('chatgate_changes', '<kind>:<id>')`` by a trigger, so no code path (API,
CLI, config apply, a future one) can forget it (SPEC §11). An update that only moves
``last_used_at`` announces nothing: it changes no decision. SQLite has no NOTIFY; its
processes poll ``PRAGMA data_version`` instead.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chatgate.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "chatgate_changes"
# table -> (kind announced, the column that identifies a row)
ANNOUNCED = {
    "users": ("user", "id"),
    "api_tokens": ("token", "id"),
    "provider_configs": ("provider", "id"),
    "provider_keys": ("provider_key", "id"),
    "provider_key_cooldowns": ("cooldown", "key_id"),
    "model_configs": ("model", "id"),
    "user_provider_keys": ("user_key", "user_id"),
    "encryption_keys": ("encryption_key", "digest"),
}

NOTIFY_FUNCTION = f"""
CREATE FUNCTION chatgate_announce_change() RETURNS trigger AS $$
DECLARE
    changed jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
BEGIN
    PERFORM pg_notify('{CHANNEL}', TG_ARGV[0] || ':' || coalesce(changed ->> TG_ARGV[1], ''));
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "provider_key_cooldowns",
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("cooldown_until", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["provider_keys.id"],
            name=op.f("fk_provider_key_cooldowns_key_id_provider_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", "model", name=op.f("pk_provider_key_cooldowns")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NOTIFY_FUNCTION)
    for table, (kind, column) in ANNOUNCED.items():
        op.execute(
            f"CREATE TRIGGER chatgate_announce_{table}_rows AFTER INSERT OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION chatgate_announce_change('{kind}', '{column}')"
        )
        op.execute(
            f"CREATE TRIGGER chatgate_announce_{table}_updates AFTER UPDATE ON {table} "
            "FOR EACH ROW WHEN ((to_jsonb(OLD) - 'last_used_at') "
            "IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at')) "
            f"EXECUTE FUNCTION chatgate_announce_change('{kind}', '{column}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ANNOUNCED:
            op.execute(f"DROP TRIGGER chatgate_announce_{table}_rows ON {table}")
            op.execute(f"DROP TRIGGER chatgate_announce_{table}_updates ON {table}")
        op.execute("DROP FUNCTION chatgate_announce_change()")
    op.drop_table("provider_key_cooldowns")
