"""All tables (SPEC §2). Invariants that a constraint can hold live here, not in services."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chatgate.crypto.sealed import SealedSecret
from chatgate.db.types import SealedColumn, UtcDateTime
from chatgate.families import FAMILIES

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("owner", "admin", "auditor", "member")


class KeyState(StrEnum):
    """A pool key's stored state; the values are what the ``state`` column holds."""

    ACTIVE = "active"
    COOLING_DOWN = "cooling_down"
    INVALID = "invalid"  # rejected by the upstream (401); only an admin's reset revives it


KEY_STATES = tuple(state.value for state in KeyState)
KEY_SOURCES = ("user", "central", "deployment")
MESSAGE_STATUSES = ("complete", "partial", "error")
AUDIT_SOURCES = ("api", "cli", "ui", "config-apply", "system")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Stored lower-cased, so a plain unique index is case-insensitive uniqueness.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # SHA-256 hex of the token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ProviderConfig(Base):
    __tablename__ = "provider_configs"
    __table_args__ = (
        CheckConstraint(
            "(central_api_key_enabled OR allow_user_api_key) AND "
            "(NOT allow_central_api_key_fallback OR "
            "(central_api_key_enabled AND allow_user_api_key))",
            name="key_policy",
        ),
        CheckConstraint(_in("family", FAMILIES), name="family"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str] = mapped_column(String(2048))
    enabled: Mapped[bool] = mapped_column(Boolean)
    central_api_key_enabled: Mapped[bool] = mapped_column(Boolean)
    allow_user_api_key: Mapped[bool] = mapped_column(Boolean)
    allow_central_api_key_fallback: Mapped[bool] = mapped_column(Boolean)
    connect_timeout_s: Mapped[float | None] = mapped_column(Float)
    first_byte_timeout_s: Mapped[float | None] = mapped_column(Float)
    idle_timeout_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class ProviderKey(Base):
    """A central key in a provider config's pool."""

    __tablename__ = "provider_keys"
    __table_args__ = (CheckConstraint(_in("state", KEY_STATES), name="state"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    provider_config_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("provider_configs.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(100))
    secret: Mapped[SealedSecret] = mapped_column(SealedColumn)
    # Last 4 characters of keys of 16+ characters, computed when stored.
    secret_hint: Mapped[str | None] = mapped_column(String(4))
    enabled: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))
    cooldown_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ModelConfig(Base):
    __tablename__ = "model_configs"
    __table_args__ = (
        CheckConstraint(_in("family", FAMILIES), name="family"),
        CheckConstraint("context_limit > 0", name="context_limit_positive"),
        CheckConstraint(
            "compression_threshold >= 0 AND compression_threshold <= 100",
            name="compression_threshold_range",
        ),
        # At most one live default, and live names are unique.
        Index(
            "uq_model_configs_live_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default AND NOT deleted"),
            sqlite_where=text("is_default AND NOT deleted"),
        ),
        Index(
            "uq_model_configs_live_name",
            "name",
            unique=True,
            postgresql_where=text("NOT deleted"),
            sqlite_where=text("NOT deleted"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    # Plain uuid, no foreign key: a soft-deleted model keeps its historical binding.
    provider_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    model: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean)
    is_default: Mapped[bool] = mapped_column(Boolean)
    context_limit: Mapped[int] = mapped_column(Integer)
    compression_threshold: Mapped[int] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    deleted: Mapped[bool] = mapped_column(Boolean)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class UserProviderKey(Base):
    __tablename__ = "user_provider_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    provider_config_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("provider_configs.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    secret: Mapped[SealedSecret] = mapped_column(SealedColumn)
    secret_hint: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Chat(Base):
    __tablename__ = "chats"
    __table_args__ = (
        Index("ix_chats_user_updated", "user_id", "updated_at", "id"),
        # The purge walks archived chats oldest first (SPEC §10).
        Index("ix_chats_archived_updated", "archived", "updated_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    model_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    archived: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Set while a reply is being produced (one at a time per chat, SPEC §10): claimed by
    # one conditional UPDATE, so two concurrent posts cannot both start; renewed as the
    # reply is flushed and cleared at its end. A crashed process's claim lapses.
    reply_lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        CheckConstraint(_in("status", MESSAGE_STATUSES), name="status"),
        Index("ix_chat_messages_chat_created", "chat_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    model_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    provider_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    key_source: Mapped[str | None] = mapped_column(String(16))
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UsageEvent(Base):
    """One row per upstream attempt (attempt 0: refused before any attempt)."""

    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_created", "created_at", "id"),
        # A member's own usage (GET /api/v1/usage) reads only their rows of the window.
        Index("ix_usage_events_user_created", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    model_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    provider_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    key_source: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[int] = mapped_column(Integer)
    error_class: Mapped[str | None] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    ttfb_ms: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UsageRollup(Base):
    """Usage totals of one group over one hour or UTC day (``chatgate.usage.rollup``),
    written in the transaction that inserts the usage rows they count. The primary key's
    order serves the read: one grouping, one period size, a range of period starts."""

    __tablename__ = "usage_rollups"

    group_by: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    group_value: Mapped[str] = mapped_column(String(96), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    # Latency bucket -> attempts (``chatgate.usage.rollup.latency_bucket``).
    latency_histogram: Mapped[dict[str, int]] = mapped_column(JSON)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(_in("source", AUDIT_SOURCES), name="source"),
        Index("ix_audit_log_created", "created_at", "id"),
        # GET /api/v1/audit-log filters by target or by actor and pages newest first: each
        # index ends in (created_at, id), so a page is one range read in index order.
        Index("ix_audit_log_target_created", "target_type", "target_id", "created_at", "id"),
        Index("ix_audit_log_actor_created", "actor_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(80))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Setting(Base):
    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class EncryptionKey(Base):
    __tablename__ = "encryption_keys"
    __table_args__ = (CheckConstraint(_in("state", ("active", "revoked")), name="state"),)

    digest: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProviderKeyCooldown(Base):
    """A (pool key, upstream model) pair cooling down after a 429/402 (SPEC §8), shared by
    every process. A row whose ``cooldown_until`` has passed means nothing: the key is
    ready again without a write."""

    __tablename__ = "provider_key_cooldowns"

    key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("provider_keys.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    cooldown_until: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebSession(Base):
    """A browser's sign-in (SPEC §12): the cookie holds a random secret, stored here only as
    its SHA-256. It lives as long as the token it was opened with, and expires after 12 idle
    hours."""

    __tablename__ = "web_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
