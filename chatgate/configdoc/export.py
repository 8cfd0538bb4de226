"""``GET /api/v1/config``: the stored configuration as a document (SPEC §12).

Applied to an empty database with the referenced secrets supplied, the document reproduces
the configuration: providers come in family order, then precedence, and keys in pool
order, so creating them in document order gives the same precedence and the same primary
key. Deployment keys are the server's environment, not configuration: never exported.

Every key gets a label unique in its pool (``identities.pool_labels``: a key stored
without one, or with a repeated one, is called ``key-N``), and every reference is unique
in the document: two keys whose names map to the same ``CHATGATE_KEY_…`` name (``a-b``/``c``
and ``a``/``b-c``) get ``_2``, ``_3`` … after the first, in document order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.chats.retention import get_retention_days
from chatgate.configdoc.identities import pool_labels
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


def unique_references(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """The reference of each ``(provider, label)``, in order; a reference an earlier pair
    already took gets the first free ``_N`` suffix that is no other pair's own reference."""
    wanted = [secret_reference(provider, label) for provider, label in pairs]
    own = set(wanted)
    used: set[str] = set()
    references = []
    for reference in wanted:
        candidate, n = reference, 1
        while candidate in used or (n > 1 and candidate in own):
            n += 1
            candidate = f"{reference}_{n}"
        used.add(candidate)
        references.append(candidate)
    return references


async def export_document(session: AsyncSession) -> ConfigDocument:
    rows = await provider_store.list_providers(session)
    ordered = [
        row for family in FAMILIES for row in by_precedence(r for r in rows if r.family == family)
    ]
    pools = [await provider_store.list_keys(session, row.id) for row in ordered]  # pool order
    labels = [pool_labels(pool) for pool in pools]
    pairs = [(row.name, label) for row, ls in zip(ordered, labels, strict=True) for label in ls]
    references = iter(unique_references(pairs))
    names = {row.id: row.name for row in ordered}
    providers = [
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
                KeyEntry(label=label, api_key=next(references), enabled=key.enabled)
                for key, label in zip(pool, own_labels, strict=True)
            ],
        )
        for row, pool, own_labels in zip(ordered, pools, labels, strict=True)
    ]
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
