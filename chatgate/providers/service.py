"""Provider-config rules of SPEC §3. Runs inside one transaction; never commits.

Every change locks the config's row first (``FOR UPDATE``); a delete first takes the
model-config lock (it soft-deletes models and may promote a default), then locks every
config of the family, so the "family has nothing usable left" check cannot race a sibling's
change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.audit.service import record
from chatgate.authz import Actor
from chatgate.cascade.impact import DeletePlan, plan_provider_delete
from chatgate.cascade.models import ensure_default, soft_delete
from chatgate.crypto.keyring import KeyRing
from chatgate.db.sealed import provider_key_context
from chatgate.db.tables import KeyState, ProviderConfig, ProviderKey
from chatgate.errors import ApiError, bad_request, conflict, not_found
from chatgate.families import DISPLAY_NAMES, FAMILIES
from chatgate.ids import new_id, utcnow
from chatgate.providers.schemas import (
    DeleteImpact,
    ImpactedModel,
    ProviderCreate,
    ProviderFamilyOut,
    ProviderOut,
    ProviderUpdate,
)
from chatgate.providers.validation import (
    check_key_policy,
    check_name,
    check_timeout,
    key_hint,
    normalize_api_key,
    normalize_base_url,
    origin_of,
)
from chatgate.resolve import (
    DEPLOYMENT_ONLY_UNBOUND_FAMILIES,
    ProviderFacts,
    by_precedence,
    central_key_missing,
    has_api_key,
    has_effective_api_key,
)
from chatgate.resolve_io import provider_facts, usable_deployment_key
from chatgate.settings import Deployment
from chatgate.store import cooldowns as cooldown_store
from chatgate.store import models as model_store
from chatgate.store import providers as store
from chatgate.validation import parse_family, refuse_nulls

PRIMARY_LABEL = "primary"
MAX_GENERATED_NAME_ATTEMPTS = 50
TIMEOUT_FIELDS = ("connect_timeout_s", "first_byte_timeout_s", "idle_timeout_s")
# PATCH fields for which ``null`` means nothing (absent = unchanged is how to keep them).
NOT_NULLABLE = (
    "family",
    "name",
    "display_name",
    "base_url",
    "enabled",
    "central_api_key_enabled",
    "allow_user_api_key",
    "allow_central_api_key_fallback",
)


# -- facts and views -----------------------------------------------------------------------


def effective_base_url(base_url: str, family: str, deployment: Deployment) -> str | None:
    return base_url or deployment.default_base_url(family)


def provider_out(
    row: ProviderConfig, counts: tuple[int, int], deployment: Deployment
) -> ProviderOut:
    total, enabled_keys = counts
    facts = provider_facts(row, has_stored_key=enabled_keys > 0)
    return ProviderOut(
        id=row.id,
        source="database",
        family=row.family,
        name=row.name,
        display_name=row.display_name,
        base_url=row.base_url,
        effective_base_url=effective_base_url(row.base_url, row.family, deployment),
        enabled=row.enabled,
        central_api_key_enabled=row.central_api_key_enabled,
        allow_user_api_key=row.allow_user_api_key,
        allow_central_api_key_fallback=row.allow_central_api_key_fallback,
        has_api_key=has_api_key(facts),
        has_effective_api_key=has_effective_api_key(
            facts, usable_deployment_key(deployment, row.family)
        ),
        key_count=total,
        connect_timeout_s=row.connect_timeout_s,
        first_byte_timeout_s=row.first_byte_timeout_s,
        idle_timeout_s=row.idle_timeout_s,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def deployment_entry(family: str, deployment: Deployment) -> ProviderOut:
    """The synthetic, read-only list entry of a family served only by its deployment key."""
    return ProviderOut(
        id=None,
        source="deployment",
        family=family,
        name=f"deployment:{family}",
        display_name=DISPLAY_NAMES[family],
        base_url="",
        effective_base_url=deployment.default_base_url(family),
        enabled=True,
        central_api_key_enabled=True,
        allow_user_api_key=False,
        allow_central_api_key_fallback=False,
        has_api_key=False,
        has_effective_api_key=usable_deployment_key(deployment, family),
        key_count=0,
        connect_timeout_s=None,
        first_byte_timeout_s=None,
        idle_timeout_s=None,
        created_at=None,
        created_by=None,
        updated_at=None,
        updated_by=None,
    )


def provider_snapshot(row: ProviderConfig) -> dict[str, Any]:
    """Audit view of a config (no key material; key facts are audited per key)."""
    return {
        "family": row.family,
        "name": row.name,
        "display_name": row.display_name,
        "base_url": row.base_url,
        "enabled": row.enabled,
        "central_api_key_enabled": row.central_api_key_enabled,
        "allow_user_api_key": row.allow_user_api_key,
        "allow_central_api_key_fallback": row.allow_central_api_key_fallback,
        "connect_timeout_s": row.connect_timeout_s,
        "first_byte_timeout_s": row.first_byte_timeout_s,
        "idle_timeout_s": row.idle_timeout_s,
    }


def reset_key_state(key: ProviderKey) -> None:
    """A new secret, or an admin's enable, gives the key a fresh start (SPEC §8)."""
    key.state = KeyState.ACTIVE
    key.cooldown_until = None
    key.last_error = None


def key_snapshot(key: ProviderKey) -> dict[str, Any]:
    return {
        "provider_config_id": key.provider_config_id,
        "label": key.label,
        "hint": key.secret_hint,
        "enabled": key.enabled,
        "state": key.state,
    }


def list_families(deployment: Deployment) -> list[ProviderFamilyOut]:
    return [
        ProviderFamilyOut(
            family=family,
            display_name=DISPLAY_NAMES[family],
            default_base_url=deployment.default_base_url(family),
            has_deployment_key=deployment.has_key(family),
        )
        for family in FAMILIES
    ]


# -- reads ---------------------------------------------------------------------------------


async def list_providers(session: AsyncSession, deployment: Deployment) -> list[ProviderOut]:
    """Family order, then precedence; a synthetic entry for each family that has a
    deployment key but no provider config."""
    rows = await store.list_providers(session)
    counts = await store.key_counts(session)
    result: list[ProviderOut] = []
    for family in FAMILIES:
        family_rows = by_precedence(r for r in rows if r.family == family)
        if family_rows:
            result.extend(
                provider_out(r, counts.get(r.id, (0, 0)), deployment) for r in family_rows
            )
        elif deployment.has_key(family):
            result.append(deployment_entry(family, deployment))
    return result


async def get_provider(
    session: AsyncSession, deployment: Deployment, provider_id: uuid.UUID
) -> ProviderOut:
    row = await store.get_provider(session, provider_id)
    if row is None:
        raise not_found("provider config")
    return await _out(session, row, deployment)


async def _out(session: AsyncSession, row: ProviderConfig, deployment: Deployment) -> ProviderOut:
    keys = await store.list_keys(session, row.id)
    return provider_out(row, (len(keys), sum(1 for k in keys if k.enabled)), deployment)


# -- create --------------------------------------------------------------------------------


def _central_key_missing_error() -> ApiError:
    return bad_request(
        "central_key_missing",
        "central keys are enabled but this config would have no effective central key: "
        "store an api_key, or rely on the family's deployment key (only with an empty "
        "base_url), or disable central keys",
        "api_key",
    )


def _require_base_url(family: str, base_url: str, deployment: Deployment) -> None:
    if base_url == "" and deployment.default_base_url(family) is None:
        raise bad_request(
            "base_url_required",
            f"the {family} family has no default base URL: base_url is required",
            "base_url",
        )


async def _insert_with_generated_name(session: AsyncSession, row: ProviderConfig) -> None:
    """``<family>``, then ``<family>-2``, ``-3`` …; a name taken concurrently retries the next."""
    family = row.family
    for _ in range(MAX_GENERATED_NAME_ATTEMPTS):
        taken = await store.names_starting_with(session, family)
        suffix = 1
        while (family if suffix == 1 else f"{family}-{suffix}") in taken:
            suffix += 1
        row.name = family if suffix == 1 else f"{family}-{suffix}"
        try:
            await store.insert_provider(session, row)
            return
        except store.ProviderNameTaken:
            continue
    raise conflict("name_taken", "could not generate a free name; send one", "name")


def new_pool_key(
    keyring: KeyRing,
    actor: Actor,
    provider_id: uuid.UUID,
    secret: str,
    label: str,
    *,
    enabled: bool = True,
) -> ProviderKey:
    """A new pool key, sealed for its own id (the context binds the ciphertext to it)."""
    key_id = new_id()
    return ProviderKey(
        id=key_id,
        provider_config_id=provider_id,
        label=label,
        secret=keyring.seal(secret, provider_key_context(key_id)),
        secret_hint=key_hint(secret),
        enabled=enabled,
        state=KeyState.ACTIVE,
        cooldown_until=None,
        last_error=None,
        created_at=utcnow(),
        created_by=actor.user_id,
        last_used_at=None,
    )


async def create_provider(
    session: AsyncSession,
    actor: Actor,
    deployment: Deployment,
    keyring: KeyRing,
    body: ProviderCreate,
) -> ProviderOut:
    family = parse_family(body.family)
    if family in DEPLOYMENT_ONLY_UNBOUND_FAMILIES:
        # Model writes there count the family's configs (provider_config_required): a new
        # config must not slip in between their count and their insert.
        await model_store.lock_model_configs(session)
    name = check_name(body.name) if body.name is not None else None
    base_url = normalize_base_url(body.base_url)
    _require_base_url(family, base_url, deployment)
    api_key = normalize_api_key(body.api_key) if body.api_key is not None else None
    check_key_policy(
        body.central_api_key_enabled, body.allow_user_api_key, body.allow_central_api_key_fallback
    )
    for field in TIMEOUT_FIELDS:
        check_timeout(getattr(body, field), field)
    now = utcnow()
    row = ProviderConfig(
        id=new_id(),
        family=family,
        name=name or family,
        display_name=body.display_name.strip(),
        base_url=base_url,
        enabled=body.enabled,
        central_api_key_enabled=body.central_api_key_enabled,
        allow_user_api_key=body.allow_user_api_key,
        allow_central_api_key_fallback=body.allow_central_api_key_fallback,
        connect_timeout_s=body.connect_timeout_s,
        first_byte_timeout_s=body.first_byte_timeout_s,
        idle_timeout_s=body.idle_timeout_s,
        created_at=now,
        created_by=actor.user_id,
        updated_at=now,
        updated_by=actor.user_id,
    )
    if central_key_missing(
        provider_facts(row, has_stored_key=api_key is not None),
        usable_deployment_key(deployment, family),
    ):
        raise _central_key_missing_error()
    if name is not None:
        try:
            await store.insert_provider(session, row)
        except store.ProviderNameTaken:
            raise conflict("name_taken", f"name {name!r} is taken", "name") from None
    else:
        await _insert_with_generated_name(session, row)
    await record(
        session, actor, "provider_config.create", "provider_config", row.id,
        after=provider_snapshot(row),
    )  # fmt: skip
    if api_key is not None:
        key = await store.add_key(
            session, new_pool_key(keyring, actor, row.id, api_key, PRIMARY_LABEL)
        )
        await record(
            session, actor, "provider_key.create", "provider_key", key.id, after=key_snapshot(key)
        )
    return await _out(session, row, deployment)


# -- update --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _KeyPlan:
    """What a PATCH does to the central pool: keys to delete, the key whose secret is
    replaced, or a new key to add (at most one of the last two)."""

    delete: tuple[ProviderKey, ...] = ()
    replace: ProviderKey | None = None
    add: bool = False
    remove_user_keys: bool = False

    def enabled_keys_after(self, pool: Sequence[ProviderKey]) -> int:
        gone = {k.id for k in self.delete}
        kept = sum(1 for k in pool if k.enabled and k.id not in gone)
        return (
            kept + (1 if self.add else 0) + (1 if self.replace and not self.replace.enabled else 0)
        )


def _plan_keys(
    pool: Sequence[ProviderKey],
    *,
    key_in_body: bool,
    new_key: str | None,
    origin_changed: bool,
    has_user_keys: bool,
    drop_keys: bool,
) -> _KeyPlan:
    enabled = [k for k in pool if k.enabled]  # pool is in (created_at, id) order
    primary = enabled[0] if enabled else None
    if origin_changed and (pool or has_user_keys):
        if not (key_in_body or drop_keys):
            raise conflict(
                "keys_bound_to_origin",
                "changing the base URL's origin would send this config's stored keys to "
                "another server: send the new api_key, or drop_keys: true",
                "base_url",
            )
        if new_key is not None and primary is not None:
            return _KeyPlan(
                delete=tuple(k for k in pool if k.id != primary.id),
                replace=primary,
                remove_user_keys=True,
            )
        return _KeyPlan(delete=tuple(pool), add=new_key is not None, remove_user_keys=True)
    if not key_in_body:
        return _KeyPlan()
    if new_key is None:
        return _KeyPlan(delete=tuple(pool))
    # §8: a pool holding only disabled keys gets a new enabled primary, however many.
    if primary is not None and len(pool) > 1:
        raise conflict(
            "use_key_endpoints",
            "this config has several central keys: manage them through /api/v1/providers/{id}/keys",
            "api_key",
        )
    if primary is not None:
        return _KeyPlan(replace=primary)
    return _KeyPlan(add=True)


@dataclass(frozen=True, slots=True)
class _ProviderChange:
    """What a PATCH asks for: the stored config merged with the body, every value checked."""

    name: str
    display_name: str | None  # None: unchanged
    base_url: str
    enabled: bool
    central: bool
    user: bool
    fallback: bool
    timeouts: dict[str, Any]  # only the timeout fields the body names
    key_in_body: bool
    new_key: str | None  # the api_key given, normalised; None also when it clears the key


def _merge_update(
    row: ProviderConfig, body: ProviderUpdate, deployment: Deployment
) -> _ProviderChange:
    """Check the body against the row (no I/O); errors in the order the fields are read."""
    fields = body.model_fields_set
    if body.family is not None and parse_family(body.family) != row.family:
        raise bad_request("family_immutable", "a provider config's family cannot change", "family")
    name = check_name(body.name) if body.name is not None else row.name
    base_url = normalize_base_url(body.base_url) if body.base_url is not None else row.base_url
    if "base_url" in fields:
        _require_base_url(row.family, base_url, deployment)

    def merged(field: str) -> bool:
        value = getattr(body, field)
        return bool(getattr(row, field) if value is None else value)

    change = _ProviderChange(
        name=name,
        display_name=body.display_name.strip() if body.display_name is not None else None,
        base_url=base_url,
        enabled=merged("enabled"),
        central=merged("central_api_key_enabled"),
        user=merged("allow_user_api_key"),
        fallback=merged("allow_central_api_key_fallback"),
        timeouts={field: getattr(body, field) for field in TIMEOUT_FIELDS if field in fields},
        key_in_body="api_key" in fields,
        new_key=None,
    )
    check_key_policy(change.central, change.user, change.fallback)
    for field, value in change.timeouts.items():
        check_timeout(value, field)
    if body.api_key is None:
        return change
    return replace(change, new_key=normalize_api_key(body.api_key))


async def _plan_update(
    session: AsyncSession,
    row: ProviderConfig,
    change: _ProviderChange,
    deployment: Deployment,
    drop_keys: bool,
) -> tuple[_KeyPlan, Sequence[uuid.UUID]]:
    """What happens to the pool and the users' keys, and the §3 ``central_key_missing``
    check; returns the plan and the users whose keys it may remove."""
    pool = await store.list_keys(session, row.id)
    user_key_owners = await store.list_user_key_owners(session, row.id)
    old_origin = origin_of(effective_base_url(row.base_url, row.family, deployment))
    new_origin = origin_of(effective_base_url(change.base_url, row.family, deployment))
    plan = _plan_keys(
        pool,
        key_in_body=change.key_in_body,
        new_key=change.new_key,
        origin_changed=old_origin != new_origin,
        has_user_keys=bool(user_key_owners),
        drop_keys=drop_keys,
    )
    # §3: checked only when the request enables the config, turns central keys on or
    # removes stored keys; other PATCHes never fail on it.
    removes_keys = bool(plan.delete) or (change.key_in_body and change.new_key is None)
    if (
        (change.enabled and not row.enabled)
        or (change.central and not row.central_api_key_enabled)
        or removes_keys
    ):
        after_facts = ProviderFacts(
            id=row.id,
            family=row.family,
            name=change.name,
            base_url=change.base_url,
            enabled=change.enabled,
            central_api_key_enabled=change.central,
            allow_user_api_key=change.user,
            allow_central_api_key_fallback=change.fallback,
            created_at=row.created_at,
            has_stored_key=plan.enabled_keys_after(pool) > 0,
        )
        if central_key_missing(after_facts, usable_deployment_key(deployment, row.family)):
            raise _central_key_missing_error()
    return plan, user_key_owners


async def _apply_update(
    session: AsyncSession,
    actor: Actor,
    keyring: KeyRing,
    row: ProviderConfig,
    change: _ProviderChange,
    plan: _KeyPlan,
    user_key_owners: Sequence[uuid.UUID],
) -> None:
    before = provider_snapshot(row)
    if change.name != row.name:
        try:
            await store.rename_provider(session, row, change.name)
        except store.ProviderNameTaken:
            raise conflict("name_taken", f"name {change.name!r} is taken", "name") from None
    if change.display_name is not None:
        row.display_name = change.display_name
    row.base_url = change.base_url
    row.enabled = change.enabled
    row.central_api_key_enabled = change.central
    row.allow_user_api_key = change.user
    row.allow_central_api_key_fallback = change.fallback
    for field, value in change.timeouts.items():
        setattr(row, field, value)
    after = provider_snapshot(row)
    key_changes = bool(plan.delete or plan.replace or plan.add or plan.remove_user_keys)
    if after != before or key_changes:
        row.updated_at = utcnow()
        row.updated_by = actor.user_id
    if after != before:
        await record(
            session, actor, "provider_config.update", "provider_config", row.id,
            before=before, after=after,
        )  # fmt: skip
    await _apply_key_plan(session, actor, keyring, row, plan, change.new_key, user_key_owners)


async def update_provider(
    session: AsyncSession,
    actor: Actor,
    deployment: Deployment,
    keyring: KeyRing,
    provider_id: uuid.UUID,
    body: ProviderUpdate,
) -> ProviderOut:
    """PATCH in three steps: merge the body into the row (checks only), plan what happens
    to the keys (reads, and the §3 check), apply (writes and audit)."""
    refuse_nulls(body, NOT_NULLABLE)
    row = await store.get_provider(session, provider_id, lock="update")
    if row is None:
        raise not_found("provider config")
    change = _merge_update(row, body, deployment)
    plan, user_key_owners = await _plan_update(session, row, change, deployment, body.drop_keys)
    await _apply_update(session, actor, keyring, row, change, plan, user_key_owners)
    return await _out(session, row, deployment)


async def _apply_key_plan(
    session: AsyncSession,
    actor: Actor,
    keyring: KeyRing,
    row: ProviderConfig,
    plan: _KeyPlan,
    new_key: str | None,
    user_key_owners: Sequence[uuid.UUID],
) -> None:
    for key in plan.delete:
        snapshot = key_snapshot(key)
        await store.delete_key(session, key)
        await record(session, actor, "provider_key.delete", "provider_key", key.id, before=snapshot)
    if plan.replace is not None and new_key is not None:
        key = plan.replace
        before = key_snapshot(key)
        key.secret = keyring.seal(new_key, provider_key_context(key.id))
        key.secret_hint = key_hint(new_key)
        key.enabled = True
        reset_key_state(key)
        await cooldown_store.clear_cooldowns(session, key.id)
        await session.flush()
        await record(
            session, actor, "provider_key.secret_replace", "provider_key", key.id,
            before=before, after=key_snapshot(key),
        )  # fmt: skip
    if plan.add and new_key is not None:
        key = await store.add_key(
            session, new_pool_key(keyring, actor, row.id, new_key, PRIMARY_LABEL)
        )
        await record(
            session, actor, "provider_key.create", "provider_key", key.id, after=key_snapshot(key)
        )
    if plan.remove_user_keys and user_key_owners:
        await store.delete_user_keys(session, row.id)
        for user_id in user_key_owners:
            await record(
                session, actor, "user_provider_key.delete", "user_provider_key",
                f"{user_id}:{row.id}",
                before={"user_id": user_id, "provider_config_id": row.id, "reason": "origin_changed"},
            )  # fmt: skip


# -- delete --------------------------------------------------------------------------------


async def _plan_delete(
    session: AsyncSession, deployment: Deployment, row: ProviderConfig, *, lock: bool
) -> tuple[DeletePlan, list[uuid.UUID]]:
    family_rows = await store.list_family_providers(
        session, row.family, lock="update" if lock else None
    )
    counts = await store.key_counts(session)
    facts = [provider_facts(r, has_stored_key=counts.get(r.id, (0, 0))[1] > 0) for r in family_rows]
    target = provider_facts(row, has_stored_key=counts.get(row.id, (0, 0))[1] > 0)
    live = await model_store.list_live_models(session)
    plan = plan_provider_delete(target, facts, live, usable_deployment_key(deployment, row.family))
    return plan, await store.list_user_key_owners(session, row.id)


async def delete_impact(
    session: AsyncSession, deployment: Deployment, provider_id: uuid.UUID
) -> DeleteImpact:
    row = await store.get_provider(session, provider_id)
    if row is None:
        raise not_found("provider config")
    plan, user_key_owners = await _plan_delete(session, deployment, row, lock=False)
    live = {m.id: m for m in await model_store.list_live_models(session)}
    impacted = [
        ImpactedModel(
            id=model_id,
            name=live[model_id].name,
            display_name=live[model_id].display_name,
            family=live[model_id].family,
            model=live[model_id].model,
            provider_config_id=live[model_id].provider_config_id,
            is_default=live[model_id].is_default,
            reason=reason,
        )
        for ids, reason in ((plan.bound, "bound"), (plan.unbound, "family_unusable"))
        for model_id in ids
    ]
    return DeleteImpact(
        model_configs=impacted,
        new_default_model_config_id=plan.new_default,
        user_keys_removed=len(user_key_owners),
    )


async def delete_provider(
    session: AsyncSession, actor: Actor, deployment: Deployment, provider_id: uuid.UUID
) -> DeletePlan:
    """§3 delete, one transaction: soft-delete bound models, clean the family's unbound
    models when nothing usable is left, ensure a default, delete the row; all audited."""
    await model_store.lock_model_configs(session)
    row = await store.get_provider(session, provider_id, lock="update")
    if row is None:
        raise not_found("provider config")
    plan, user_key_owners = await _plan_delete(session, deployment, row, lock=True)
    for model_id in plan.bound:
        await soft_delete(session, actor, model_id, reason="provider_config_deleted")
    for model_id in plan.unbound:
        await soft_delete(session, actor, model_id, reason="family_unusable")
    await ensure_default(session, actor)
    pool = await store.list_keys(session, row.id)
    before = provider_snapshot(row)
    for key in pool:
        await record(
            session, actor, "provider_key.delete", "provider_key", key.id,
            before=key_snapshot(key),
        )  # fmt: skip
    for user_id in user_key_owners:
        await record(
            session, actor, "user_provider_key.delete", "user_provider_key", f"{user_id}:{row.id}",
            before={"user_id": user_id, "provider_config_id": row.id, "reason": "provider_config_deleted"},
        )  # fmt: skip
    await store.delete_provider(session, row)
    await record(
        session, actor, "provider_config.delete", "provider_config", provider_id,
        before={**before, "key_count": len(pool), "user_keys_removed": len(user_key_owners)},
    )  # fmt: skip
    return plan
