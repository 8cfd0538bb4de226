"""Model-config rules of SPEC §4. Runs inside one transaction; never commits.

Every write first takes ``store.models.lock_model_configs`` (the advisory lock taken
before defaults are read), then locks the provider config it binds to ``FOR SHARE`` and
validates it after acquiring the lock, so a concurrent disable or delete cannot slip
through. The default rule is applied only by ``ensure_default``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.audit.service import record
from chatgate.authz import Actor
from chatgate.cascade.models import ensure_default, model_snapshot, soft_delete
from chatgate.db.tables import ModelConfig, ProviderConfig
from chatgate.errors import bad_request, conflict, not_found
from chatgate.families import FAMILY_ORDER
from chatgate.ids import new_id, utcnow
from chatgate.models.options import ModelOptions, check_options
from chatgate.models.schemas import ModelCreate, ModelUpdate
from chatgate.resolve import DEPLOYMENT_ONLY_UNBOUND_FAMILIES, by_precedence
from chatgate.store import models as store
from chatgate.store import providers as provider_store
from chatgate.validation import check_text, has_control_characters, parse_family, refuse_nulls

MAX_NAME_LENGTH = 128
MAX_CONTEXT_LIMIT = 2**31 - 1
NOT_NULLABLE = (
    "family",
    "model",
    "name",
    "display_name",
    "enabled",
    "is_default",
    "context_limit",
    "compression_threshold",
)


def ordered_for_listing(rows: list[ModelConfig]) -> list[ModelConfig]:
    """A new list: family order, then name, then id."""
    return sorted(rows, key=lambda m: (FAMILY_ORDER.get(m.family, 99), m.name, m.id))


# -- field rules ---------------------------------------------------------------------------


def check_model_name(raw: str) -> str:
    name = raw
    if (
        not 1 <= len(name) <= MAX_NAME_LENGTH
        or not name.isprintable()
        or any(ch.isspace() for ch in name)
        or _parses_as_uuid(name)
    ):
        raise bad_request(
            "name_invalid",
            "name must be 1-128 printable characters without whitespace and must not be a UUID",
            "name",
        )
    return name


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _parses_as_uuid(value: str) -> bool:
    return _parse_uuid(value) is not None


def check_model_id(raw: str) -> str:
    model = raw.strip()
    if not model:
        raise bad_request("model_invalid", "model (the upstream model id) is required", "model")
    if has_control_characters(model):
        raise bad_request(
            "model_invalid", "model (the upstream model id) must not contain control characters",
            "model",
        )  # fmt: skip
    return model


def check_context_limit(value: int) -> int:
    if not 0 < value <= MAX_CONTEXT_LIMIT:
        raise bad_request(
            "context_limit_invalid",
            f"context_limit must be greater than 0 and at most {MAX_CONTEXT_LIMIT}",
            "context_limit",
        )
    return value


def check_compression_threshold(value: int) -> int:
    if not 0 <= value <= 100:
        raise bad_request(
            "compression_threshold_invalid",
            "compression_threshold must be between 0 and 100",
            "compression_threshold",
        )
    return value


def stored_options(options: ModelOptions | None) -> dict[str, Any]:
    return {} if options is None else check_options(options).stored()


# -- binding -------------------------------------------------------------------------------


async def _bind_target(
    session: AsyncSession,
    raw_provider_config_id: str,
    family: str | None,
    *,
    allow_disabled: bool = False,
) -> ProviderConfig:
    """The config to bind to, locked ``FOR SHARE`` and validated after the lock, in §4's
    order: it exists, it is enabled (unless ``allow_disabled``), it is of the model's
    family."""
    provider_config_id = _parse_uuid(raw_provider_config_id)
    provider = (
        None
        if provider_config_id is None
        else await provider_store.get_provider(session, provider_config_id, lock="share")
    )
    if provider is None:
        raise bad_request(
            "provider_config_not_found", "the provider config does not exist", "provider_config_id"
        )
    if not provider.enabled and not allow_disabled:
        raise bad_request(
            "provider_config_disabled", "the provider config is disabled", "provider_config_id"
        )
    if family is not None and provider.family != family:
        raise bad_request(
            "provider_config_family_mismatch",
            f"the provider config is of family {provider.family}, not {family}",
            "provider_config_id",
        )
    return provider


async def _require_binding_if_needed(session: AsyncSession, family: str) -> None:
    """openai-compat: once the family has two or more configs a model must be bound."""
    if (
        family in DEPLOYMENT_ONLY_UNBOUND_FAMILIES
        and await provider_store.count_family_providers(session, family) >= 2
    ):
        raise bad_request(
            "provider_config_required",
            f"{family} has several provider configs (different servers): "
            "provider_config_id is required",
            "provider_config_id",
        )


async def _auto_bind(session: AsyncSession, family: str) -> uuid.UUID | None:
    """The first enabled config of the family by precedence (locked), or None: unbound."""
    await _require_binding_if_needed(session, family)
    enabled = await provider_store.list_family_providers(
        session, family, lock="share", enabled_only=True
    )
    first = next(iter(by_precedence(enabled)), None)
    return None if first is None else first.id


# -- defaults ------------------------------------------------------------------------------


async def _make_default(session: AsyncSession, actor: Actor, row: ModelConfig) -> None:
    """Clear the previous live default, then set ``row`` (in that order: one index)."""
    await store.lock_model_configs(session)
    for other in await store.list_live_models(session):
        if other.is_default and other.id != row.id:
            other.is_default = False
            other.updated_at = utcnow()
            other.updated_by = actor.user_id
            await session.flush()
            await record(
                session, actor, "model_config.default_clear", "model_config", other.id,
                before={"is_default": True}, after={"is_default": False},
            )  # fmt: skip
    row.is_default = True
    await session.flush()


# -- writes --------------------------------------------------------------------------------


async def create_model(
    session: AsyncSession,
    actor: Actor,
    body: ModelCreate,
    *,
    allow_disabled_provider: bool = False,
) -> ModelConfig:
    """``allow_disabled_provider``: configuration apply only, recreating a model bound to a
    config its document declares disabled (a state §3 reaches by disabling after binding,
    which a document cannot always replay: enabling may need a central key it lacks)."""
    await store.lock_model_configs(session)
    fields = body.model_fields_set
    family = parse_family(body.family) if body.family is not None else None
    model = check_model_id(body.model)
    name = check_model_name(body.name if body.name is not None else model)
    display_name = check_text(body.display_name, "display_name")
    context_limit = check_context_limit(body.context_limit)
    compression_threshold = check_compression_threshold(body.compression_threshold)
    options = stored_options(body.options)

    provider_config_id: uuid.UUID | None
    if body.provider_config_id is not None:
        provider = await _bind_target(
            session, body.provider_config_id, family, allow_disabled=allow_disabled_provider
        )
        family, provider_config_id = provider.family, provider.id
    elif family is None:
        raise bad_request("family_required", "family or provider_config_id is required", "family")
    elif "provider_config_id" in fields:  # explicit null: unbound, no auto-bind
        await _require_binding_if_needed(session, family)
        provider_config_id = None
    else:
        provider_config_id = await _auto_bind(session, family)

    now = utcnow()
    row = ModelConfig(
        id=new_id(),
        family=family,
        provider_config_id=provider_config_id,
        model=model,
        name=name,
        display_name=display_name,
        enabled=body.enabled,
        is_default=False,
        context_limit=context_limit,
        compression_threshold=compression_threshold,
        options=options,
        deleted=False,
        deleted_at=None,
        created_at=now,
        created_by=actor.user_id,
        updated_at=now,
        updated_by=actor.user_id,
    )
    try:
        await store.insert_model(session, row)
    except store.ModelNameTaken:
        raise conflict("name_taken", f"a live model config is named {name!r}", "name") from None
    if body.is_default:
        await _make_default(session, actor, row)
    else:
        await ensure_default(session, actor, created=row.id)
    await record(
        session, actor, "model_config.create", "model_config", row.id, after=model_snapshot(row)
    )
    return row


async def get_model(session: AsyncSession, model_id: uuid.UUID) -> ModelConfig:
    row = await store.get_live_model(session, model_id)
    if row is None:
        raise not_found("model config")
    return row


async def list_models(session: AsyncSession) -> list[ModelConfig]:
    return ordered_for_listing(list(await store.list_live_models(session)))


async def update_model(
    session: AsyncSession,
    actor: Actor,
    model_id: uuid.UUID,
    body: ModelUpdate,
    *,
    allow_disabled_provider: bool = False,
) -> ModelConfig:
    """``allow_disabled_provider``: as for ``create_model`` (configuration apply only)."""
    fields = body.model_fields_set
    refuse_nulls(body, NOT_NULLABLE)
    await store.lock_model_configs(session)
    row = await store.get_live_model(session, model_id, for_update=True)
    if row is None:
        raise not_found("model config")
    before = model_snapshot(row)

    family = parse_family(body.family) if body.family is not None else row.family
    model = check_model_id(body.model) if body.model is not None else row.model
    name = check_model_name(body.name) if body.name is not None else row.name
    display_name = (
        check_text(body.display_name, "display_name") if body.display_name is not None else None
    )
    context_limit = (
        check_context_limit(body.context_limit)
        if body.context_limit is not None
        else row.context_limit
    )
    compression_threshold = (
        check_compression_threshold(body.compression_threshold)
        if body.compression_threshold is not None
        else row.compression_threshold
    )
    options = stored_options(body.options) if "options" in fields else row.options

    provider_config_id = row.provider_config_id
    if "provider_config_id" in fields:
        if body.provider_config_id is None:
            await _require_binding_if_needed(session, family)
            provider_config_id = None
        else:
            target = await _bind_target(
                session, body.provider_config_id, family, allow_disabled=allow_disabled_provider
            )
            provider_config_id = target.id
    elif family != row.family:
        provider_config_id = await _auto_bind(session, family)

    row.family = family
    row.model = model
    row.name = name
    row.context_limit = context_limit
    row.compression_threshold = compression_threshold
    row.options = options
    row.provider_config_id = provider_config_id
    if display_name is not None:
        row.display_name = display_name
    if body.enabled is not None:
        row.enabled = body.enabled
    try:
        await store.flush_model(session)
    except store.ModelNameTaken:
        raise conflict("name_taken", f"a live model config is named {name!r}", "name") from None

    if body.is_default is True and not row.is_default:
        await _make_default(session, actor, row)
    elif body.is_default is False and row.is_default:
        row.is_default = False
        await session.flush()
        await ensure_default(session, actor, demoted=row.id)

    after = model_snapshot(row)
    if after != before:
        row.updated_at = utcnow()
        row.updated_by = actor.user_id
        await session.flush()
        await record(
            session, actor, "model_config.update", "model_config", row.id,
            before=before, after=after,
        )  # fmt: skip
    return row


async def delete_model(session: AsyncSession, actor: Actor, model_id: uuid.UUID) -> None:
    await store.lock_model_configs(session)
    await soft_delete(session, actor, model_id, reason="deleted")
    await ensure_default(session, actor)
