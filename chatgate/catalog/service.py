"""Building the caller's catalog from one read transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.authz import Actor, Permission
from chatgate.catalog.schemas import MyModel
from chatgate.db.tables import ModelConfig
from chatgate.errors import ApiError
from chatgate.resolve import Resolution, model_visible_to_member, resolve
from chatgate.resolve_io import family_facts, model_facts
from chatgate.settings import Deployment
from chatgate.store import models as model_store
from chatgate.store import providers as provider_store
from chatgate.store import userkeys as userkey_store


def _entry(row: ModelConfig, resolution: Resolution, *, admin_view: bool) -> MyModel:
    entry = MyModel(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        family=row.family,
        model=row.model,
        provider_config_id=row.provider_config_id,
        is_default=row.is_default,
        available=resolution.available,
        unavailable_reason=resolution.unavailable_reason,
    )
    if admin_view:
        entry.enabled = row.enabled
    return entry


async def list_my_models(
    session: AsyncSession, actor: Actor, deployment: Deployment
) -> list[MyModel]:
    """Ordered by name, then id (names are unique among live models; the id only makes the
    order total), the order of the gateway's ``/v1/models``."""
    if actor.user_id is None:  # pragma: no cover - API actors are always users
        raise ApiError(403, "forbidden", "the catalog belongs to users")
    # Those who see every live model (§6) get the admin view.
    admin_view = actor.can(Permission.SEE_ALL_MODELS)
    families = family_facts(
        await provider_store.list_providers(session),
        await userkey_store.configs_with_enabled_key(session),
        deployment,
    )
    key_config_ids = await userkey_store.user_key_config_ids(session, actor.user_id)
    entries: list[MyModel] = []
    for row in sorted(await model_store.list_live_models(session), key=lambda m: (m.name, m.id)):
        facts = model_facts(row)
        family = families[row.family]
        if not admin_view and not model_visible_to_member(facts, family):
            continue
        entries.append(_entry(row, resolve(facts, family, key_config_ids), admin_view=admin_view))
    return entries
