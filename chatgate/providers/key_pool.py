"""Central key pools of provider configs (SPEC §8). Runs inside one transaction; never commits.

Every change locks the config's row first (``FOR UPDATE`` on PostgreSQL; SQLite's writers
are serialised by ``BEGIN IMMEDIATE``) and only then reads the pool, so two requests that
each disable one of the last two usable keys cannot both pass the ``last_usable_key`` check.
Responses carry the key's hint, never its secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.audit.service import record
from chatgate.authz import Actor
from chatgate.crypto.keyring import KeyRing
from chatgate.db.sealed import provider_key_context
from chatgate.db.tables import KeyState, ProviderConfig, ProviderKey, ProviderKeyCooldown
from chatgate.errors import conflict, not_found
from chatgate.ids import utcnow
from chatgate.providers.schemas import ProviderKeyCreate, ProviderKeyOut, ProviderKeyUpdate
from chatgate.providers.service import key_snapshot, new_pool_key, reset_key_state
from chatgate.providers.validation import key_hint, normalize_api_key
from chatgate.resolve import depends_on_pool
from chatgate.resolve_io import provider_facts, usable_deployment_key
from chatgate.settings import Deployment
from chatgate.store import cooldowns as cooldown_store
from chatgate.store import providers as store
from chatgate.validation import refuse_nulls

# PATCH fields for which ``null`` means nothing (absent = unchanged is how to keep them).
NOT_NULLABLE = ("label", "enabled", "api_key")


def key_out(key: ProviderKey, cooldowns: Sequence[ProviderKeyCooldown] = ()) -> ProviderKeyOut:
    """The key as admins see it; ``cooldowns`` are its stored ones still running (the
    longest is shown)."""
    cooldown = max(cooldowns, key=lambda c: c.cooldown_until, default=None)
    state: str = key.state
    if not key.enabled:
        state = "disabled"
    elif key.state != KeyState.INVALID and cooldown is not None:
        state = KeyState.COOLING_DOWN
    elif key.state == KeyState.COOLING_DOWN:
        state = KeyState.ACTIVE  # the per-key column is no longer written; ready again
    return ProviderKeyOut(
        id=key.id,
        label=key.label,
        hint=key.secret_hint,
        enabled=key.enabled,
        state=state,
        cooldown_until=cooldown.cooldown_until if cooldown else None,
        cooldown_model=cooldown.model if cooldown else None,
        last_error=key.last_error,
        last_used_at=key.last_used_at,
        created_at=key.created_at,
    )


def is_usable(key: ProviderKey) -> bool:
    """§8: enabled and not invalid (a cooling-down key recovers by itself)."""
    return key.enabled and key.state != KeyState.INVALID


def check_not_last_usable(
    row: ProviderConfig,
    pool: Sequence[ProviderKey],
    key: ProviderKey,
    *,
    has_deployment_key: bool,
    force: bool,
) -> None:
    """Refuse to remove or disable ``key`` when it is the config's last usable key (409
    ``last_usable_key``), unless ``force``: a leaked key must always be removable."""
    if force or not is_usable(key):
        return
    if not depends_on_pool(provider_facts(row, has_stored_key=True), has_deployment_key):
        return
    if any(is_usable(other) for other in pool if other.id != key.id):
        return
    raise conflict(
        "last_usable_key",
        "this is the config's last usable central key: without it the config has no "
        "central key (missing_api_key). Add another key first, or repeat with ?force=true",
    )


async def _locked_provider(session: AsyncSession, provider_id: uuid.UUID) -> ProviderConfig:
    row = await store.get_provider(session, provider_id, lock="update")
    if row is None:
        raise not_found("provider config")
    return row


async def _key_of(session: AsyncSession, row: ProviderConfig, key_id: uuid.UUID) -> ProviderKey:
    key = await store.get_key(session, row.id, key_id)
    if key is None:
        raise not_found("provider key")
    return key


def _touch(row: ProviderConfig, actor: Actor) -> None:
    row.updated_at = utcnow()
    row.updated_by = actor.user_id


async def list_keys(session: AsyncSession, provider_id: uuid.UUID) -> list[ProviderKeyOut]:
    if await store.get_provider(session, provider_id) is None:
        raise not_found("provider config")
    return await shown_keys(session, await store.list_keys(session, provider_id))


async def shown_keys(session: AsyncSession, keys: Sequence[ProviderKey]) -> list[ProviderKeyOut]:
    """``keys`` as admins see them, with their stored cooldowns still running."""
    running: dict[uuid.UUID, list[ProviderKeyCooldown]] = {}
    for cooldown in await cooldown_store.active_cooldowns_of(
        session, [key.id for key in keys], utcnow()
    ):
        running.setdefault(cooldown.key_id, []).append(cooldown)
    return [key_out(key, running.get(key.id, ())) for key in keys]


async def add_key(
    session: AsyncSession,
    actor: Actor,
    keyring: KeyRing,
    provider_id: uuid.UUID,
    body: ProviderKeyCreate,
) -> ProviderKeyOut:
    secret = normalize_api_key(body.api_key)
    row = await _locked_provider(session, provider_id)
    key = await store.add_key(
        session,
        new_pool_key(keyring, actor, row.id, secret, body.label.strip(), enabled=body.enabled),
    )
    _touch(row, actor)
    await record(
        session, actor, "provider_key.create", "provider_key", key.id, after=key_snapshot(key)
    )
    return key_out(key)


async def update_key(
    session: AsyncSession,
    actor: Actor,
    deployment: Deployment,
    keyring: KeyRing,
    provider_id: uuid.UUID,
    key_id: uuid.UUID,
    body: ProviderKeyUpdate,
    *,
    force: bool,
) -> ProviderKeyOut:
    """Relabel, enable, disable or replace the secret. A new secret or ``enabled: true``
    resets the key to ``active`` (it may have been marked invalid); a label alone does not."""
    refuse_nulls(body, NOT_NULLABLE)
    secret = normalize_api_key(body.api_key) if body.api_key is not None else None
    row = await _locked_provider(session, provider_id)
    key = await _key_of(session, row, key_id)
    if body.enabled is False:
        pool = await store.list_keys(session, row.id)
        check_not_last_usable(
            row,
            pool,
            key,
            has_deployment_key=usable_deployment_key(deployment, row.family),
            force=force,
        )
    before = key_snapshot(key)
    if body.label is not None:
        key.label = body.label.strip()
    if body.enabled is not None:
        key.enabled = body.enabled
    if secret is not None:
        key.secret = keyring.seal(secret, provider_key_context(key.id))
        key.secret_hint = key_hint(secret)
    if secret is not None or body.enabled is True:
        reset_key_state(key)
        await cooldown_store.clear_cooldowns(session, key.id)
    after = key_snapshot(key)
    if after != before or secret is not None:
        await session.flush()
        _touch(row, actor)
        action = "provider_key.secret_replace" if secret is not None else "provider_key.update"
        await record(session, actor, action, "provider_key", key.id, before=before, after=after)
    [shown] = await shown_keys(session, [key])
    return shown


async def delete_key(
    session: AsyncSession,
    actor: Actor,
    deployment: Deployment,
    provider_id: uuid.UUID,
    key_id: uuid.UUID,
    *,
    force: bool,
) -> None:
    row = await _locked_provider(session, provider_id)
    key = await _key_of(session, row, key_id)
    pool = await store.list_keys(session, row.id)
    check_not_last_usable(
        row,
        pool,
        key,
        has_deployment_key=usable_deployment_key(deployment, row.family),
        force=force,
    )
    before = key_snapshot(key)
    await store.delete_key(session, key)
    _touch(row, actor)
    await record(session, actor, "provider_key.delete", "provider_key", key_id, before=before)
