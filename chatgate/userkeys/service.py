"""User-key rules of SPEC §6. Runs inside one transaction; never commits."""

from __future__ import annotations

import uuid
from collections.abc import Set
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.audit.service import record
from chatgate.authz import Actor
from chatgate.crypto.keyring import KeyRing
from chatgate.crypto.sealed import SealedSecret
from chatgate.db.sealed import user_key_context
from chatgate.db.tables import ProviderConfig, UserProviderKey
from chatgate.errors import ApiError, bad_request, not_found
from chatgate.families import DISPLAY_NAMES, FAMILY_ORDER
from chatgate.ids import utcnow
from chatgate.providers.validation import key_hint, normalize_api_key
from chatgate.resolve import has_effective_api_key, precedence_key
from chatgate.resolve_io import provider_facts, usable_deployment_key
from chatgate.settings import Deployment
from chatgate.store import providers as provider_store
from chatgate.store import userkeys as store
from chatgate.userkeys.schemas import ProviderKeyEntry, UserKeyPut

TARGET_TYPE = "user_provider_key"


def _caller_id(actor: Actor) -> uuid.UUID:
    if actor.user_id is None:  # pragma: no cover - API actors are always users
        raise ApiError(403, "forbidden", "user keys belong to users")
    return actor.user_id


def _target_id(user_id: uuid.UUID, provider_config_id: uuid.UUID) -> str:
    # The same identity the provider service uses when a config's user keys are removed.
    return f"{user_id}:{provider_config_id}"


def _audit_view(
    user_id: uuid.UUID, provider_config_id: uuid.UUID, secret: SealedSecret | None
) -> dict[str, Any]:
    # The secret is recorded only as "<redacted>" (so the entry shows a key was set). The
    # hint is left out: admins read the audit log, and another user's key is not theirs to
    # tell apart.
    return {"user_id": user_id, "provider_config_id": provider_config_id, "api_key": secret}


def entry_for(
    row: ProviderConfig,
    *,
    has_enabled_key: bool,
    user_key: UserProviderKey | None,
    deployment: Deployment,
) -> ProviderKeyEntry:
    facts = provider_facts(row, has_stored_key=has_enabled_key)
    effective_central = has_effective_api_key(facts, usable_deployment_key(deployment, row.family))
    return ProviderKeyEntry(
        provider_config_id=row.id,
        family=row.family,
        name=row.name,
        display_name=row.display_name or DISPLAY_NAMES[row.family],
        has_user_api_key=user_key is not None,
        api_key_hint=None if user_key is None else user_key.secret_hint,
        has_central_api_key_fallback=row.allow_central_api_key_fallback and effective_central,
        usable=row.enabled and row.allow_user_api_key,
    )


def _listed(row: ProviderConfig, key_config_ids: Set[uuid.UUID]) -> bool:
    """§6: enabled configs that allow user keys, plus every config the user holds a key for."""
    return (row.enabled and row.allow_user_api_key) or row.id in key_config_ids


async def list_provider_keys(
    session: AsyncSession, actor: Actor, deployment: Deployment
) -> list[ProviderKeyEntry]:
    """Ordered by family order, then precedence inside the family."""
    user_id = _caller_id(actor)
    user_keys = {k.provider_config_id: k for k in await store.list_user_keys(session, user_id)}
    rows = [r for r in await provider_store.list_providers(session) if _listed(r, user_keys.keys())]
    rows.sort(key=lambda r: (FAMILY_ORDER[r.family], *precedence_key(r)))
    with_key = await store.configs_with_enabled_key(session)
    return [
        entry_for(
            row,
            has_enabled_key=row.id in with_key,
            user_key=user_keys.get(row.id),
            deployment=deployment,
        )
        for row in rows
    ]


async def _store_sealed_key(
    session: AsyncSession,
    actor: Actor,
    user_id: uuid.UUID,
    config_id: uuid.UUID,
    sealed: SealedSecret,
    hint: str | None,
) -> UserProviderKey:
    """Insert the key, or replace the one there; audited either way."""
    target = _target_id(user_id, config_id)
    now = utcnow()
    existing = await store.get_user_key(session, user_id, config_id, for_update=True)
    if existing is None:
        row = UserProviderKey(
            user_id=user_id,
            provider_config_id=config_id,
            secret=sealed,
            secret_hint=hint,
            created_at=now,
            updated_at=now,
        )
        try:
            await store.insert_user_key(session, row)
        except store.UserKeyExists:
            # A concurrent PUT of the same user stored one first: replace it instead.
            existing = await store.get_user_key(session, user_id, config_id, for_update=True)
            if existing is None:  # pragma: no cover - the conflicting row is committed
                raise
        else:
            after = _audit_view(user_id, config_id, sealed)
            await record(session, actor, f"{TARGET_TYPE}.create", TARGET_TYPE, target, after=after)
            return row
    before = _audit_view(user_id, config_id, existing.secret)
    existing.secret = sealed
    existing.secret_hint = hint
    existing.updated_at = now
    await session.flush()
    await record(
        session, actor, f"{TARGET_TYPE}.replace", TARGET_TYPE, target,
        before=before, after=_audit_view(user_id, config_id, sealed),
    )  # fmt: skip
    return existing


async def put_user_key(
    session: AsyncSession,
    actor: Actor,
    keyring: KeyRing,
    deployment: Deployment,
    provider_config_id: uuid.UUID,
    body: UserKeyPut,
) -> ProviderKeyEntry:
    """Store or replace the caller's key. Checks in the order of §6: unknown config (404),
    disabled (400), user keys not allowed (400), then the key itself (400)."""
    user_id = _caller_id(actor)
    # Lock first, validate after: a concurrent disable/delete/policy change either commits
    # before (and is seen) or waits for this transaction.
    config = await provider_store.get_provider(session, provider_config_id, lock="share")
    if config is None:
        raise not_found("provider config")
    if not config.enabled:
        raise bad_request(
            "provider_config_disabled",
            "this provider config is disabled; keys cannot be stored for it",
            "provider_config_id",
        )
    if not config.allow_user_api_key:
        raise bad_request(
            "user_api_key_not_allowed",
            "this provider config does not accept user keys",
            "provider_config_id",
        )
    api_key = normalize_api_key(body.api_key)
    sealed = keyring.seal(api_key, user_key_context(user_id, config.id))
    hint = key_hint(api_key)
    row = await _store_sealed_key(session, actor, user_id, config.id, sealed, hint)
    return entry_for(
        config,
        has_enabled_key=await store.provider_has_enabled_key(session, config.id),
        user_key=row,
        deployment=deployment,
    )


async def delete_user_key(
    session: AsyncSession, actor: Actor, provider_config_id: uuid.UUID
) -> None:
    """Remove the caller's key; nothing to remove (or no such config) is not an error, so a
    key stays removable whatever happened to its config."""
    user_id = _caller_id(actor)
    existing = await store.get_user_key(session, user_id, provider_config_id, for_update=True)
    if existing is None:
        return
    before = _audit_view(user_id, provider_config_id, existing.secret)
    if await store.delete_user_key(session, user_id, provider_config_id):
        await record(
            session, actor, f"{TARGET_TYPE}.delete", TARGET_TYPE,
            _target_id(user_id, provider_config_id),
            before=before,
        )  # fmt: skip
