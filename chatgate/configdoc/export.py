"""``GET /api/v1/config``: the stored configuration as a document (SPEC §12).

Applied to an empty database with the referenced secrets supplied, the document reproduces
the configuration: providers come in family order, then precedence, and keys in pool
order, so creating them in document order gives the same precedence and the same primary
key. Deployment keys are the server's environment, not configuration: never exported.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.chats.retention import get_retention_days
from chatgate.configdoc.schemas import ConfigDocument, KeyEntry, ModelEntry, ProviderEntry
from chatgate.families import FAMILIES
from chatgate.models.options import ModelOptions
from chatgate.models.service import ordered_for_listing
from chatgate.resolve import by_precedence
from chatgate.store import models as model_store
from chatgate.store import providers as provider_store

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def secret_reference(provider: str, label: str) -> str:
    """The ``env:`` reference the export names a key's secret by (the wire contract)."""
    return f"env:CHATGATE_KEY_{_NOT_ALNUM.sub('_', provider.upper())}_{_NOT_ALNUM.sub('_', label.upper())}"


async def export_document(session: AsyncSession) -> ConfigDocument:
    rows = await provider_store.list_providers(session)
    providers: list[ProviderEntry] = []
    names = {}
    for family in FAMILIES:
        for row in by_precedence(r for r in rows if r.family == family):
            names[row.id] = row.name
            keys = await provider_store.list_keys(session, row.id)  # pool order
            providers.append(
                ProviderEntry(
                    name=row.name,
                    family=row.family,
                    display_name=row.display_name,
                    base_url=row.base_url,
                    enabled=row.enabled,
                    central_api_key_enabled=row.central_api_key_enabled,
                    allow_user_api_key=row.allow_user_api_key,
                    allow_central_api_key_fallback=row.allow_central_api_key_fallback,
                    connect_timeout_s=row.connect_timeout_s,
                    first_byte_timeout_s=row.first_byte_timeout_s,
                    idle_timeout_s=row.idle_timeout_s,
                    keys=[
                        KeyEntry(
                            label=key.label,
                            api_key=secret_reference(row.name, key.label),
                            enabled=key.enabled,
                        )
                        for key in keys
                    ],
                )
            )
    live = ordered_for_listing(list(await model_store.list_live_models(session)))
    models = [
        ModelEntry(
            name=m.name,
            model=m.model,
            family=m.family,
            display_name=m.display_name,
            provider=None if m.provider_config_id is None else names.get(m.provider_config_id),
            enabled=m.enabled,
            context_limit=m.context_limit,
            compression_threshold=m.compression_threshold,
            options=ModelOptions.model_validate(m.options or {}),
        )
        for m in live
    ]
    default = next((m.name for m in live if m.is_default), None)
    return ConfigDocument(
        version=1,
        providers=providers,
        models=models,
        default_model=default,
        chat_retention_days=await get_retention_days(session),
    )
