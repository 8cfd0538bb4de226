"""Model-config changes that more than one domain makes: soft-deleting a model and keeping
exactly one live default (SPEC §4). Model configs' own writes and a provider config's
delete cascade (§3) both call these, so neither domain imports the other.

Runs inside the caller's transaction, under ``store.models.lock_model_configs``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.audit.service import record
from chatgate.authz import Actor
from chatgate.cascade.defaults import choose_default
from chatgate.db.tables import ModelConfig
from chatgate.errors import not_found
from chatgate.ids import utcnow
from chatgate.store import models as store


def model_snapshot(row: ModelConfig) -> dict[str, Any]:
    return {
        "family": row.family,
        "provider_config_id": row.provider_config_id,
        "model": row.model,
        "name": row.name,
        "display_name": row.display_name,
        "enabled": row.enabled,
        "is_default": row.is_default,
        "context_limit": row.context_limit,
        "compression_threshold": row.compression_threshold,
        "options": row.options,
        "deleted": row.deleted,
    }


async def ensure_default(
    session: AsyncSession,
    actor: Actor,
    *,
    demoted: uuid.UUID | None = None,
    created: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Make the live default exactly what ``choose_default`` says; returns its id.

    ``demoted``: a model just un-defaulted (it stays the default only when it is the only
    live model). ``created``: a model being created in this transaction (its own audit
    entry records that it became the default).
    """
    await store.lock_model_configs(session)
    live = list(await store.list_live_models(session))
    chosen = choose_default(live, demoted=demoted)
    for row in live:
        if row.is_default and row.id != chosen:
            row.is_default = False
            await session.flush()
    target = next((row for row in live if row.id == chosen), None)
    if target is not None and not target.is_default:
        target.is_default = True
        if target.id != created:
            target.updated_at = utcnow()
            target.updated_by = actor.user_id
        await session.flush()
        if target.id not in (demoted, created):
            await record(
                session, actor, "model_config.default_promote", "model_config", target.id,
                before={"is_default": False}, after={"is_default": True},
            )  # fmt: skip
    return chosen


async def soft_delete(
    session: AsyncSession, actor: Actor, model_id: uuid.UUID, *, reason: str
) -> None:
    """Soft-delete one live model (no default promotion: callers ``ensure_default`` after
    their last removal)."""
    row = await store.get_live_model(session, model_id, for_update=True)
    if row is None:
        raise not_found("model config")
    before = model_snapshot(row)
    now = utcnow()
    row.deleted = True
    row.deleted_at = now
    row.is_default = False
    row.updated_at = now
    row.updated_by = actor.user_id
    await session.flush()
    await record(
        session, actor, "model_config.delete", "model_config", row.id,
        before=before, after={**model_snapshot(row), "reason": reason},
    )  # fmt: skip
