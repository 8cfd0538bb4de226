"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 15:03:13.109864
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chatgate.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=80), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "source IN ('api', 'cli', 'ui', 'config-apply', 'system')",
            name=op.f("ck_audit_log_source"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_audit_log_target", ["target_type", "target_id"], unique=False)

    op.create_table(
        "encryption_keys",
        sa.Column("digest", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('active', 'revoked')", name=op.f("ck_encryption_keys_state")),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_encryption_keys")),
    )
    op.create_table(
        "model_configs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("provider_config_id", sa.Uuid(), nullable=True),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("context_limit", sa.Integer(), nullable=False),
        sa.Column("compression_threshold", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "family IN ('anthropic', 'azure', 'bedrock', 'google', 'openai', 'openai-compat', 'openrouter', 'vercel')",
            name=op.f("ck_model_configs_family"),
        ),
        sa.CheckConstraint(
            "compression_threshold >= 0 AND compression_threshold <= 100",
            name=op.f("ck_model_configs_compression_threshold_range"),
        ),
        sa.CheckConstraint(
            "context_limit > 0", name=op.f("ck_model_configs_context_limit_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_configs")),
    )
    with op.batch_alter_table("model_configs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_configs_family"), ["family"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_model_configs_provider_config_id"), ["provider_config_id"], unique=False
        )
        batch_op.create_index(
            "uq_model_configs_live_default",
            ["is_default"],
            unique=True,
            postgresql_where=sa.text("is_default AND NOT deleted"),
            sqlite_where=sa.text("is_default AND NOT deleted"),
        )
        batch_op.create_index(
            "uq_model_configs_live_name",
            ["name"],
            unique=True,
            postgresql_where=sa.text("NOT deleted"),
            sqlite_where=sa.text("NOT deleted"),
        )

    op.create_table(
        "provider_configs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("base_url", sa.String(length=2048), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("central_api_key_enabled", sa.Boolean(), nullable=False),
        sa.Column("allow_user_api_key", sa.Boolean(), nullable=False),
        sa.Column("allow_central_api_key_fallback", sa.Boolean(), nullable=False),
        sa.Column("connect_timeout_s", sa.Float(), nullable=True),
        sa.Column("first_byte_timeout_s", sa.Float(), nullable=True),
        sa.Column("idle_timeout_s", sa.Float(), nullable=True),
        sa.Column("created_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "family IN ('anthropic', 'azure', 'bedrock', 'google', 'openai', 'openai-compat', 'openrouter', 'vercel')",
            name=op.f("ck_provider_configs_family"),
        ),
        sa.CheckConstraint(
            "(central_api_key_enabled OR allow_user_api_key) AND (NOT allow_central_api_key_fallback OR (central_api_key_enabled AND allow_user_api_key))",
            name=op.f("ck_provider_configs_key_policy"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_configs")),
        sa.UniqueConstraint("name", name=op.f("uq_provider_configs_name")),
    )
    with op.batch_alter_table("provider_configs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_configs_family"), ["family"], unique=False)

    op.create_table(
        "settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_settings")),
    )
    op.create_table(
        "usage_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("model_config_id", sa.Uuid(), nullable=True),
        sa.Column("provider_config_id", sa.Uuid(), nullable=True),
        sa.Column("key_id", sa.Uuid(), nullable=True),
        sa.Column("key_source", sa.String(length=16), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("error_class", sa.String(length=32), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttfb_ms", sa.Float(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("created_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
    )
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.create_index("ix_usage_events_created", ["created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_usage_events_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'auditor', 'member')", name=op.f("ck_users_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_api_tokens_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "chats",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("model_config_id", sa.Uuid(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_chats_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chats")),
    )
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chats_user_updated", ["user_id", "updated_at", "id"], unique=False
        )

    op.create_table(
        "provider_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_config_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("secret", chatgate.db.types.SealedColumn(), nullable=False),
        sa.Column("secret_hint", sa.String(length=4), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("cooldown_until", chatgate.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1024), nullable=True),
        sa.Column("created_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("last_used_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('active', 'cooling_down', 'invalid')", name=op.f("ck_provider_keys_state")
        ),
        sa.ForeignKeyConstraint(
            ["provider_config_id"],
            ["provider_configs.id"],
            name=op.f("fk_provider_keys_provider_config_id_provider_configs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_keys")),
    )
    with op.batch_alter_table("provider_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_keys_provider_config_id"), ["provider_config_id"], unique=False
        )

    op.create_table(
        "user_provider_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider_config_id", sa.Uuid(), nullable=False),
        sa.Column("secret", chatgate.db.types.SealedColumn(), nullable=False),
        sa.Column("secret_hint", sa.String(length=4), nullable=True),
        sa.Column("created_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_config_id"],
            ["provider_configs.id"],
            name=op.f("fk_user_provider_keys_provider_config_id_provider_configs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_provider_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "provider_config_id", name=op.f("pk_user_provider_keys")
        ),
    )
    with op.batch_alter_table("user_provider_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_provider_keys_provider_config_id"),
            ["provider_config_id"],
            unique=False,
        )

    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model_config_id", sa.Uuid(), nullable=True),
        sa.Column("provider_config_id", sa.Uuid(), nullable=True),
        sa.Column("key_source", sa.String(length=16), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("created_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", chatgate.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('complete', 'partial', 'error')", name=op.f("ck_chat_messages_status")
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_chat_messages_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chat_messages_chat_created", ["chat_id", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_chat_created")

    op.drop_table("chat_messages")
    with op.batch_alter_table("user_provider_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_provider_keys_provider_config_id"))

    op.drop_table("user_provider_keys")
    with op.batch_alter_table("provider_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_keys_provider_config_id"))

    op.drop_table("provider_keys")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_index("ix_chats_user_updated")

    op.drop_table("chats")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_events_request_id"))
        batch_op.drop_index("ix_usage_events_created")

    op.drop_table("usage_events")
    op.drop_table("settings")
    with op.batch_alter_table("provider_configs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_configs_family"))

    op.drop_table("provider_configs")
    with op.batch_alter_table("model_configs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_model_configs_live_name",
            postgresql_where=sa.text("NOT deleted"),
            sqlite_where=sa.text("NOT deleted"),
        )
        batch_op.drop_index(
            "uq_model_configs_live_default",
            postgresql_where=sa.text("is_default AND NOT deleted"),
            sqlite_where=sa.text("is_default AND NOT deleted"),
        )
        batch_op.drop_index(batch_op.f("ix_model_configs_provider_config_id"))
        batch_op.drop_index(batch_op.f("ix_model_configs_family"))

    op.drop_table("model_configs")
    op.drop_table("encryption_keys")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_target")
        batch_op.drop_index("ix_audit_log_created")

    op.drop_table("audit_log")
