"""Plan and apply a configuration document (SPEC §12, §14).

``apply_document`` runs in the caller's one write transaction: it takes the apply lock,
reads the stored state, and walks the document, making every change through the same
service call the API makes (so rules, invariants and audit rows are the API's; the audit
source is ``config-apply``). It records each change, and each cascade the services report
(models soft-deleted, user keys removed, a new default), as it goes. ``plan_document`` runs
exactly the same walk and rolls the transaction back: a plan is what the apply does.

Order of work (each step needs the one before): providers and their keys (new keys first,
so a config never passes through "no usable key"), models (they bind to providers by
name, so a model moving away from a dropped provider has moved before it goes), pruned
providers (their cascade reaches only models the document does not keep, or unbound ones
of a family left with nothing usable), pruned models, the default model, retention.
Changes are listed in the contract's order instead: providers with their keys, models,
default, retention; by name.

A failing item raises its service's error with ``detail.path`` naming the item (e.g.
``providers[1].base_url``); the transaction rolls back, so nothing is applied.

Names and labels are compared in their stored form (``identities``). A model may bind to a
provider the document declares disabled (§3 keeps such bindings, so exports hold them). A
prune whose cascade would reach a model the document keeps is refused: the next apply would
recreate it. A caller who may not write (an auditor planning) gets no secret comparison.
Because a plan is this walk, it holds the apply lock while it runs.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.authz import Actor, Permission
from chatgate.chats.retention import get_retention_days, set_retention_days
from chatgate.configdoc.identities import check_identities, normalized_document, pool_labels
from chatgate.configdoc.schemas import (
    ChangeAction,
    ChangeKind,
    ConfigChange,
    ConfigRequest,
    KeyEntry,
    ModelEntry,
    ProviderEntry,
)
from chatgate.crypto.keyring import KeyRing, KeyRingError
from chatgate.db.engine import Database
from chatgate.db.sealed import provider_key_context
from chatgate.db.tables import ModelConfig, ProviderConfig, ProviderKey
from chatgate.errors import ApiError, bad_request
from chatgate.models import service as model_service
from chatgate.models.options import ModelOptions
from chatgate.models.schemas import ModelCreate, ModelUpdate
from chatgate.models.service import check_model_id, stored_options
from chatgate.providers import key_pool
from chatgate.providers import service as provider_service
from chatgate.providers.schemas import (
    ProviderCreate,
    ProviderKeyCreate,
    ProviderKeyUpdate,
    ProviderUpdate,
)
from chatgate.providers.service import PRIMARY_LABEL, TIMEOUT_FIELDS, effective_base_url
from chatgate.providers.validation import normalize_api_key, normalize_base_url, origin_of
from chatgate.settings import Deployment
from chatgate.store import models as model_store
from chatgate.store import providers as provider_store
from chatgate.store.config_apply import lock_config_apply
from chatgate.validation import check_text, parse_family

AUDIT_SOURCE = "config-apply"
# Provider fields compared one to one with the stored row (timeouts only when given).
_PROVIDER_FIELDS = (
    "display_name",
    "base_url",
    "enabled",
    "central_api_key_enabled",
    "allow_user_api_key",
    "allow_central_api_key_fallback",
)
_KIND_ORDER: dict[str, int] = {
    "provider": 0,
    "provider_key": 0,
    "user_keys": 0,
    "model": 1,
    "default_model": 2,
    "chat_retention_days": 3,
}
# An option's error names the option under the model's ``options``.
_OPTION_PATHS = {name: f"options.{name}" for name in ModelOptions.model_fields}
_WITHIN_PROVIDER = {"provider": 0, "provider_key": 1, "user_keys": 2}
_ACTION_ORDER = {"delete": 0, "update": 1, "create": 2}


# -- errors that name the item --------------------------------------------------------------


@contextmanager
def at(path: str, rename: Mapping[str, str] | None = None) -> Iterator[None]:
    """Errors raised inside name ``path`` (plus the service's field, renamed to the
    document's word for it: ``rename`` maps a field to a path suffix, ``""`` = none)."""
    try:
        yield
    except ApiError as error:
        if error.status >= 500 or (isinstance(error.detail, dict) and "path" in error.detail):
            raise
        raise _located(error, path, rename or {}) from None


def _located(error: ApiError, path: str, rename: Mapping[str, str]) -> ApiError:
    field_name: str | None = None
    if isinstance(error.detail, dict):
        field_name = error.detail.get("field")
    elif isinstance(error.detail, list) and error.detail and isinstance(error.detail[0], dict):
        field_name = error.detail[0].get("field")
    suffix = rename.get(field_name, field_name) if field_name else None
    if suffix and suffix.startswith("["):
        full = f"{path}{suffix}"
    else:
        full = f"{path}.{suffix}" if suffix else path
    return ApiError(error.status, error.code, f"{full}: {error.message}", {"path": full})


# -- the walk --------------------------------------------------------------------------------


@dataclass
class _Walk:
    session: AsyncSession
    actor: Actor
    deployment: Deployment
    keyring: KeyRing
    request: ConfigRequest
    changes: list[ConfigChange] = field(default_factory=list)
    # Providers the document declares disabled: its models may stay bound to them.
    declared_disabled: set[str] = field(default_factory=set)

    @property
    def compare_secrets(self) -> bool:
        """Whether given secrets are compared with stored ones (only for a caller who may
        write: for anyone else a given secret of an existing key counts as absent)."""
        return self.actor.can(Permission.ADMIN_WRITE)

    def note(
        self,
        action: ChangeAction,
        kind: ChangeKind,
        name: str,
        detail: str,
        *,
        fields: list[str] | None = None,
        cascade: bool = False,
        group: str = "",
    ) -> None:
        self.changes.append(
            ConfigChange(
                action=action,
                kind=kind,
                name=name,
                fields=fields or [],
                cascade=cascade,
                detail=detail,
            )
        )
        self._groups.append(group or name)

    def __post_init__(self) -> None:
        self._groups: list[str] = []

    def ordered(self) -> list[ConfigChange]:
        """The contract's order: providers (each followed by its keys and user keys),
        models, default, retention; by name within each."""

        def key(pair: tuple[ConfigChange, str]) -> tuple[Any, ...]:
            change, group = pair
            return (
                _KIND_ORDER[change.kind],
                group,
                _WITHIN_PROVIDER.get(change.kind, 0),
                change.name,
                _ACTION_ORDER[change.action],
            )

        return [
            change for change, _ in sorted(zip(self.changes, self._groups, strict=True), key=key)
        ]


def _same_secret(keyring: KeyRing, key: ProviderKey, secret: str) -> bool:
    """Whether ``secret`` is the key's stored one, compared in constant time. A secret that
    no longer opens (a lost encryption key) counts as different: applying replaces it."""
    try:
        stored = keyring.open(key.secret, provider_key_context(key.id))
    except KeyRingError:
        return False
    return hmac.compare_digest(stored.encode(), secret.encode())


def _required_secret(key: KeyEntry, path: str) -> str:
    """The literal secret a key being stored needs (absent: 400 naming the key)."""
    if key.api_key is None:
        raise ApiError(
            400,
            "api_key_required",
            f"{path}.api_key: a key stored anew needs its api_key",
            {"path": f"{path}.api_key"},
        )
    with at(path):
        return normalize_api_key(key.api_key)


async def _check_user_key_loss(walk: _Walk, doomed: list[ProviderConfig]) -> None:
    """409 ``user_key_loss`` before anything is written, unless the request accepts it."""
    if walk.request.allow_user_key_loss:
        return
    losses = {}
    for row in doomed:
        count = len(await provider_store.list_user_key_owners(walk.session, row.id))
        if count:
            losses[row.name] = count
    if losses:
        total = sum(losses.values())
        names = ", ".join(f"'{name}'" for name in sorted(losses))
        raise ApiError(
            409,
            "user_key_loss",
            f"this would remove {total} user key(s) with provider config(s) {names}: "
            "repeat with allow_user_key_loss to accept it",
            {"providers": sorted(losses), "user_keys": total},
        )


async def _walk(walk: _Walk) -> list[ConfigChange]:
    session = walk.session
    await lock_config_apply(session)
    document = normalized_document(walk.request.document)
    check_identities(document)
    # The rest of the walk reads the document in its stored form.
    walk.request = walk.request.model_copy(update={"document": document})
    walk.declared_disabled = {p.name for p in document.providers if not p.enabled}
    stored = {row.name: row for row in await provider_store.list_providers(session)}
    wanted = {p.name for p in document.providers}
    doomed = (
        sorted((row for name, row in stored.items() if name not in wanted), key=lambda r: r.name)
        if walk.request.prune
        else []
    )
    await _check_user_key_loss(walk, doomed)
    default_before = _default_name(await model_store.list_live_models(session))

    provider_ids: dict[str, uuid.UUID] = {
        name: row.id for name, row in stored.items() if row not in doomed
    }
    for i, entry in enumerate(document.providers):
        path = f"providers[{i}]"
        row = stored.get(entry.name)
        if row is None:
            provider_ids[entry.name] = await _create_provider(walk, path, entry)
        else:
            await _update_provider(walk, path, entry, row)

    live = {m.name: m for m in await model_store.list_live_models(session)}
    for k, model in enumerate(document.models):
        await _put_model(walk, f"models[{k}]", model, live.get(model.name), provider_ids)

    if walk.request.prune:
        # Providers first: a model the document drops that was bound to a dropped provider
        # is listed as that delete's cascade, the way the API's delete reports it.
        kept = {m.name: k for k, m in enumerate(document.models)}
        for doomed_row in doomed:
            await _delete_provider(walk, doomed_row, kept)
        live_now = sorted(await model_store.list_live_models(session), key=lambda m: m.name)
        for model_row in live_now:
            if model_row.name not in kept:
                await model_service.delete_model(session, walk.actor, model_row.id)
                walk.note("delete", "model", model_row.name, f"model '{model_row.name}' deleted")

    await _put_default(walk, default_before)
    await _put_retention(walk)
    return walk.ordered()


def _default_name(models: Any) -> str | None:
    return next((m.name for m in models if m.is_default), None)


# -- providers -----------------------------------------------------------------------------


async def _create_provider(walk: _Walk, path: str, entry: ProviderEntry) -> uuid.UUID:
    secrets = [_required_secret(key, f"{path}.keys[{j}]") for j, key in enumerate(entry.keys)]
    # The first enabled key goes in with the config, so the central-key rule sees it (the
    # API's create does the same with its api_key); the others follow through the pool.
    first = next((j for j, key in enumerate(entry.keys) if key.enabled), None)
    body = ProviderCreate(
        family=entry.family,
        name=entry.name,
        display_name=entry.display_name,
        base_url=entry.base_url,
        api_key=None if first is None else secrets[first],
        enabled=entry.enabled,
        central_api_key_enabled=entry.central_api_key_enabled,
        allow_user_api_key=entry.allow_user_api_key,
        allow_central_api_key_fallback=entry.allow_central_api_key_fallback,
        connect_timeout_s=entry.connect_timeout_s,
        first_byte_timeout_s=entry.first_byte_timeout_s,
        idle_timeout_s=entry.idle_timeout_s,
    )
    key_path = "keys" if first is None else f"keys[{first}].api_key"
    with at(path, {"api_key": key_path}):
        created = await provider_service.create_provider(
            walk.session, walk.actor, walk.deployment, walk.keyring, body
        )
    assert created.id is not None
    walk.note("create", "provider", entry.name, f"provider '{entry.name}' created")
    if first is not None:
        await _adopt_primary(walk, f"{path}.keys[{first}]", created.id, entry.keys[first])
        walk.note(*_key_created(entry.name, entry.keys[first].label), group=entry.name)
    for j, key in enumerate(entry.keys):
        if j != first:
            await _add_key(walk, f"{path}.keys[{j}]", created.id, key, secrets[j])
            walk.note(*_key_created(entry.name, key.label), group=entry.name)
    return created.id


def _key_created(provider: str, label: str) -> tuple[Any, ...]:
    return (
        "create",
        "provider_key",
        f"{provider}/{label}",
        f"key '{label}' added to provider '{provider}'",
    )


async def _adopt_primary(walk: _Walk, path: str, provider_id: uuid.UUID, key: KeyEntry) -> None:
    """The key the provider service stored as ``primary`` takes the document's label."""
    if key.label == PRIMARY_LABEL:
        return
    pool = await provider_store.list_keys(walk.session, provider_id)
    primary = next(k for k in pool if k.enabled)
    with at(path):
        await key_pool.update_key(
            walk.session, walk.actor, walk.deployment, walk.keyring, provider_id, primary.id,
            ProviderKeyUpdate(label=key.label), force=False,
        )  # fmt: skip


async def _add_key(
    walk: _Walk, path: str, provider_id: uuid.UUID, key: KeyEntry, secret: str
) -> None:
    with at(path):
        await key_pool.add_key(
            walk.session, walk.actor, walk.keyring, provider_id,
            ProviderKeyCreate(api_key=secret, label=key.label, enabled=key.enabled),
        )  # fmt: skip


def _provider_update(path: str, entry: ProviderEntry, row: ProviderConfig) -> dict[str, Any]:
    """The fields of ``entry`` that differ from the row, in their stored form."""
    with at(path):
        if parse_family(entry.family) != row.family:
            raise bad_request(
                "family_immutable", "a provider config's family cannot change", "family"
            )
        wanted: dict[str, Any] = {
            "display_name": check_text(entry.display_name, "display_name"),
            "base_url": normalize_base_url(entry.base_url),
            "enabled": entry.enabled,
            "central_api_key_enabled": entry.central_api_key_enabled,
            "allow_user_api_key": entry.allow_user_api_key,
            "allow_central_api_key_fallback": entry.allow_central_api_key_fallback,
        }
    for name in TIMEOUT_FIELDS:
        if name in entry.model_fields_set:
            wanted[name] = getattr(entry, name)
    return {name: value for name, value in wanted.items() if getattr(row, name) != value}


async def _update_provider(
    walk: _Walk, path: str, entry: ProviderEntry, row: ProviderConfig
) -> None:
    update = _provider_update(path, entry, row)
    pool = list(await provider_store.list_keys(walk.session, row.id))
    user_keys = len(await provider_store.list_user_key_owners(walk.session, row.id))
    if "base_url" in update:
        old = origin_of(effective_base_url(row.base_url, row.family, walk.deployment))
        new = origin_of(effective_base_url(update["base_url"], row.family, walk.deployment))
        if old != new and (pool or user_keys):
            await _move_origin(walk, path, entry, row, update, pool, user_keys)
            return

    # A key without a usable label of its own is matched by the one export gives it (and
    # gets it for real below): applying an export never adds a second copy of a key.
    identity = dict(zip((k.id for k in pool), pool_labels(pool), strict=True))
    by_label = {identity[pool_key.id]: pool_key for pool_key in pool}
    matched: set[uuid.UUID] = set()
    early: list[tuple[str, KeyEntry, ProviderKey, ProviderKeyUpdate, list[str]]] = []
    late: list[tuple[str, KeyEntry, ProviderKey, ProviderKeyUpdate, list[str]]] = []
    for j, key in enumerate(entry.keys):
        key_path = f"{path}.keys[{j}]"
        stored_key = by_label.get(key.label)
        if stored_key is None:
            await _add_key(walk, key_path, row.id, key, _required_secret(key, key_path))
            walk.note(*_key_created(entry.name, key.label), group=entry.name)
            continue
        matched.add(stored_key.id)
        changed: list[str] = []
        body: dict[str, Any] = {}
        if stored_key.label != key.label:
            changed.append("label")
            body["label"] = key.label
        # A caller who may not write plans without comparing secrets: otherwise an
        # auditor could test guesses of a stored key against the plan's answer.
        if key.api_key is not None and walk.compare_secrets:
            with at(key_path):
                secret = normalize_api_key(key.api_key)
            if not _same_secret(walk.keyring, stored_key, secret):
                changed.append("api_key")
                body["api_key"] = secret
        if stored_key.enabled != key.enabled:
            changed.append("enabled")
            body["enabled"] = key.enabled
        if changed:
            step = (key_path, key, stored_key, ProviderKeyUpdate(**body), changed)
            # Disabling waits until the provider's own update (it may turn central keys off).
            (late if key.enabled is False and "enabled" in changed else early).append(step)
    for step in early:
        await _update_key(walk, entry.name, row.id, *step)
    if update:
        with at(path):
            await provider_service.update_provider(
                walk.session, walk.actor, walk.deployment, walk.keyring, row.id,
                ProviderUpdate(**update),
            )  # fmt: skip
        walk.note(
            "update", "provider", entry.name,
            f"provider '{entry.name}': {', '.join(update)} changed", fields=list(update),
        )  # fmt: skip
    for step in late:
        await _update_key(walk, entry.name, row.id, *step)
    if walk.request.prune:
        for pool_key in pool:
            if pool_key.id not in matched:
                with at(f"{path}.keys"):
                    await key_pool.delete_key(
                        walk.session, walk.actor, walk.deployment, row.id, pool_key.id,
                        force=False,
                    )  # fmt: skip
                label = identity[pool_key.id]
                walk.note(
                    "delete", "provider_key", f"{entry.name}/{label}",
                    f"key '{label}' removed from provider '{entry.name}'",
                    group=entry.name,
                )  # fmt: skip


async def _update_key(
    walk: _Walk,
    provider: str,
    provider_id: uuid.UUID,
    path: str,
    key: KeyEntry,
    stored_key: ProviderKey,
    body: ProviderKeyUpdate,
    changed: list[str],
) -> None:
    with at(path):
        await key_pool.update_key(
            walk.session, walk.actor, walk.deployment, walk.keyring, provider_id, stored_key.id,
            body, force=False,
        )  # fmt: skip
    walk.note(
        "update", "provider_key", f"{provider}/{key.label}",
        f"key '{key.label}' of provider '{provider}': {', '.join(changed)} changed",
        fields=changed, group=provider,
    )  # fmt: skip


async def _move_origin(
    walk: _Walk,
    path: str,
    entry: ProviderEntry,
    row: ProviderConfig,
    update: dict[str, Any],
    pool: list[ProviderKey],
    user_keys: int,
) -> None:
    """A base URL on another origin: stored keys must not follow it (SPEC §3), so every
    stored key and user key goes and the document's keys are stored anew — each needs its
    secret. Users' keys go only when the request accepts it."""
    secrets = [_required_secret(key, f"{path}.keys[{j}]") for j, key in enumerate(entry.keys)]
    if user_keys and not walk.request.allow_user_key_loss:
        raise ApiError(
            409,
            "user_key_loss",
            f"{path}.base_url: moving provider '{entry.name}' to another origin removes "
            f"{user_keys} user key(s): repeat with allow_user_key_loss to accept it",
            {"path": f"{path}.base_url", "providers": [entry.name], "user_keys": user_keys},
        )
    first = next((j for j, key in enumerate(entry.keys) if key.enabled), None)
    body = ProviderUpdate(**update, drop_keys=True)
    if first is not None:
        body = ProviderUpdate(**update, api_key=secrets[first])
    key_path = "keys" if first is None else f"keys[{first}].api_key"
    with at(path, {"api_key": key_path}):
        await provider_service.update_provider(
            walk.session, walk.actor, walk.deployment, walk.keyring, row.id, body
        )
    walk.note(
        "update", "provider", entry.name,
        f"provider '{entry.name}': {', '.join(update)} changed", fields=list(update),
    )  # fmt: skip
    for label in pool_labels(pool):
        walk.note(
            "delete", "provider_key", f"{entry.name}/{label}",
            f"key '{label}' removed: provider '{entry.name}' moved to another origin",
            cascade=True, group=entry.name,
        )  # fmt: skip
    if user_keys:
        walk.note(
            "delete", "user_keys", entry.name,
            f"{user_keys} user keys removed: provider '{entry.name}' moved to another origin",
            cascade=True,
        )  # fmt: skip
    if first is not None:
        await _adopt_primary(walk, f"{path}.keys[{first}]", row.id, entry.keys[first])
        walk.note(*_key_created(entry.name, entry.keys[first].label), group=entry.name)
    for j, key in enumerate(entry.keys):
        if j != first:
            await _add_key(walk, f"{path}.keys[{j}]", row.id, key, secrets[j])
            walk.note(*_key_created(entry.name, key.label), group=entry.name)


async def _delete_provider(walk: _Walk, row: ProviderConfig, kept: Mapping[str, int]) -> None:
    """Delete a pruned provider with its cascade. A cascade onto a model the document
    keeps is refused: the next apply would recreate the model, so the document could
    never settle (and plan, running this same walk, shows the same refusal)."""
    name = row.name
    keys = pool_labels(await provider_store.list_keys(walk.session, row.id))
    user_keys = len(await provider_store.list_user_key_owners(walk.session, row.id))
    names = {m.id: m.name for m in await model_store.list_live_models(walk.session)}
    plan = await provider_service.delete_provider(walk.session, walk.actor, walk.deployment, row.id)
    for model_id in plan.unbound:  # (a kept model is never bound to a pruned provider)
        if names[model_id] in kept:
            _refuse_pruned_model(names[model_id], kept[names[model_id]], row)
    walk.note("delete", "provider", name, f"provider '{name}' deleted")
    for label in keys:
        walk.note(
            "delete", "provider_key", f"{name}/{label}",
            f"key '{label}' removed with provider '{name}'", cascade=True, group=name,
        )  # fmt: skip
    if user_keys:
        walk.note(
            "delete", "user_keys", name, f"{user_keys} user keys removed with provider '{name}'",
            cascade=True,
        )  # fmt: skip
    for model_id in plan.bound:
        walk.note(
            "delete", "model", names[model_id],
            f"model '{names[model_id]}' soft-deleted: its provider is deleted", cascade=True,
        )  # fmt: skip
    for model_id in plan.unbound:
        walk.note(
            "delete", "model", names[model_id],
            f"model '{names[model_id]}' soft-deleted: its family has no usable provider "
            "config left", cascade=True,
        )  # fmt: skip


def _refuse_pruned_model(model: str, index: int, provider: ProviderConfig) -> None:
    path = f"models[{index}]"
    raise ApiError(
        400,
        "model_pruned",
        f"{path}: model '{model}' would be soft-deleted by pruning provider "
        f"'{provider.name}' (no usable {provider.family} provider config would be left): "
        f"keep a provider config of family {provider.family} in the document or drop the model",
        {"path": path, "provider": provider.name},
    )


# -- models --------------------------------------------------------------------------------


async def _put_model(
    walk: _Walk,
    path: str,
    entry: ModelEntry,
    row: ModelConfig | None,
    provider_ids: Mapping[str, uuid.UUID],
) -> None:
    provider_id: uuid.UUID | None = None
    if entry.provider is not None:
        found = provider_ids.get(entry.provider)
        if found is None:
            raise ApiError(
                400,
                "provider_config_not_found",
                f"{path}.provider: no provider config named {entry.provider!r} "
                "(in the document or kept in the database)",
                {"path": f"{path}.provider"},
            )
        provider_id = found
    rename = {"provider_config_id": "provider", **_OPTION_PATHS}
    # The document may bind a model to a provider it declares disabled: disabling keeps a
    # config's models bound (SPEC §3), so an export holds such models and must replay.
    declared_disabled = entry.provider in walk.declared_disabled
    if row is None:
        body = ModelCreate(
            family=entry.family,
            provider_config_id=None if provider_id is None else str(provider_id),
            model=entry.model,
            name=entry.name,
            display_name=entry.display_name,
            enabled=entry.enabled,
            context_limit=entry.context_limit,
            compression_threshold=entry.compression_threshold,
            options=entry.options,
        )
        with at(path, rename):
            await model_service.create_model(
                walk.session, walk.actor, body, allow_disabled_provider=declared_disabled
            )
        walk.note("create", "model", entry.name, f"model '{entry.name}' created")
        return
    with at(path):
        wanted: dict[str, Any] = {
            "family": parse_family(entry.family),
            "model": check_model_id(entry.model),
            "display_name": check_text(entry.display_name, "display_name"),
            "enabled": entry.enabled,
            "context_limit": entry.context_limit,
            "compression_threshold": entry.compression_threshold,
        }
    update = {name: value for name, value in wanted.items() if getattr(row, name) != value}
    shown = list(update)
    if "options" in entry.model_fields_set:
        with at(path, _OPTION_PATHS):
            if stored_options(entry.options) != (row.options or {}):
                update["options"] = entry.options
                shown.append("options")
    if provider_id != row.provider_config_id:
        shown.append("provider")
    if provider_id != row.provider_config_id or "family" in update:
        # Sent with every family change: without it the service would re-bind automatically.
        update["provider_config_id"] = None if provider_id is None else str(provider_id)
    if not update:
        return
    with at(path, rename):
        await model_service.update_model(
            walk.session, walk.actor, row.id, ModelUpdate(**update),
            allow_disabled_provider=declared_disabled,
        )  # fmt: skip
    walk.note(
        "update", "model", entry.name, f"model '{entry.name}': {', '.join(shown)} changed",
        fields=shown,
    )  # fmt: skip


async def _put_default(walk: _Walk, before: str | None) -> None:
    wanted = walk.request.document.default_model
    if wanted is not None:
        live = await model_store.list_live_models(walk.session)
        target = next((m for m in live if m.name == wanted), None)
        if target is None:
            raise ApiError(
                400,
                "model_not_found",
                f"default_model: no live model is named {wanted!r}",
                {"path": "default_model"},
            )
        if not target.is_default:
            with at("default_model", {"is_default": ""}):
                await model_service.update_model(
                    walk.session, walk.actor, target.id, ModelUpdate(is_default=True)
                )
    after = _default_name(await model_store.list_live_models(walk.session))
    if after == before:
        return
    detail = f"new default model: '{after}'" if after else "no default model: no live model left"
    walk.note(
        "update", "default_model", after or "", detail, fields=["default_model"],
        cascade=wanted is None or wanted != after,
    )  # fmt: skip


async def _put_retention(walk: _Walk) -> None:
    wanted = walk.request.document.chat_retention_days
    if wanted is None:
        return
    current = await get_retention_days(walk.session)
    if current == wanted:
        return
    with at("chat_retention_days", {"retention_days": ""}):
        await set_retention_days(walk.session, walk.actor, wanted)
    walk.note(
        "update", "chat_retention_days", "chat_retention_days",
        f"chat retention: {current} → {wanted} days", fields=["chat_retention_days"],
    )  # fmt: skip


# -- entry points --------------------------------------------------------------------------


async def apply_document(
    session: AsyncSession,
    actor: Actor,
    deployment: Deployment,
    keyring: KeyRing,
    request: ConfigRequest,
) -> list[ConfigChange]:
    """Apply ``request`` in the caller's transaction; the changes made, in contract order."""
    walk = _Walk(session, replace(actor, source=AUDIT_SOURCE), deployment, keyring, request)
    return await _walk(walk)


class _PlanDone(Exception):
    """Carries a plan out of its transaction, which leaving by an exception rolls back."""

    def __init__(self, changes: list[ConfigChange]) -> None:
        super().__init__("plan computed")
        self.changes = changes


async def plan_document(
    db: Database,
    actor: Actor,
    deployment: Deployment,
    keyring: KeyRing,
    request: ConfigRequest,
) -> list[ConfigChange]:
    """What ``apply_document`` would do: the same walk, in a transaction rolled back."""

    async def work(session: AsyncSession) -> None:
        raise _PlanDone(await apply_document(session, actor, deployment, keyring, request))

    try:
        await db.write(work)
    except _PlanDone as done:
        return done.changes
    raise AssertionError("unreachable: the plan's work always raises")  # pragma: no cover
