"""The immutable in-process snapshot the gateway serves from, and its holder.

A snapshot is built from one read transaction and never changed; the holder swaps in a
new one atomically. In-process writes mark it stale (the next request reloads, so a client
sees its own change at once); a generation counter makes sure a load that raced an
invalidation is not treated as fresh.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from chatgate.authz import Role
from chatgate.crypto.sealed import SealedSecret
from chatgate.db.engine import Database
from chatgate.ids import utcnow
from chatgate.resolve import FamilyFacts, ModelFacts, ProviderFacts, Resolution, resolve
from chatgate.resolve_io import family_facts, model_facts
from chatgate.settings import Deployment
from chatgate.store.snapshot import SnapshotRows, load_snapshot_rows


@dataclass(frozen=True, slots=True)
class TokenEntry:
    token_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserEntry:
    id: uuid.UUID
    username: str
    role: Role
    disabled: bool


@dataclass(frozen=True, slots=True)
class PoolKey:
    id: uuid.UUID
    sealed: SealedSecret
    state: str  # as stored: a KeyState value
    cooldown_until: datetime | None


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    facts: ProviderFacts
    effective_base_url: str | None  # None: no base URL and no family default
    connect_timeout_s: float | None
    first_byte_timeout_s: float | None
    idle_timeout_s: float | None
    keys: tuple[PoolKey, ...]  # enabled keys, oldest first


@dataclass(frozen=True, slots=True)
class ModelEntry:
    facts: ModelFacts
    name: str
    upstream_model: str
    display_name: str
    is_default: bool
    options: Mapping[str, Any]
    created_at: datetime
    context_limit: int = 0  # tokens; chats compress their history against it (§10)
    compression_threshold: int = 100  # percent of context_limit


@dataclass(frozen=True)
class Snapshot:
    tokens: Mapping[str, TokenEntry]
    users: Mapping[uuid.UUID, UserEntry]
    models_by_name: Mapping[str, ModelEntry]
    models_by_id: Mapping[uuid.UUID, ModelEntry]
    providers: Mapping[uuid.UUID, ProviderEntry]
    families: Mapping[str, FamilyFacts]
    user_keys: Mapping[tuple[uuid.UUID, uuid.UUID], SealedSecret]
    user_key_config_ids: Mapping[uuid.UUID, frozenset[uuid.UUID]] = field(default_factory=dict)
    # Candidates per (model, the user's keys within the model's family), computed once per
    # snapshot: the snapshot never changes, so neither do they (SPEC §15).
    _resolutions: dict[tuple[uuid.UUID, frozenset[uuid.UUID]], Resolution] = field(
        default_factory=dict, repr=False, compare=False
    )

    def user_key_ids(self, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
        return self.user_key_config_ids.get(user_id, frozenset())

    def resolution(self, model: ModelEntry, user_id: uuid.UUID) -> Resolution:
        """``chatgate.resolve.resolve`` for this model and user, memoised."""
        family = self.families[model.facts.family]
        own_keys = self.user_key_ids(user_id)
        if own_keys:
            own_keys = own_keys & frozenset(p.id for p in family.providers)
        slot = (model.facts.id, own_keys)
        found = self._resolutions.get(slot)
        if found is None:
            found = self._resolutions[slot] = resolve(model.facts, family, own_keys)
        return found


def build_snapshot(rows: SnapshotRows, deployment: Deployment) -> Snapshot:
    keys_by_config: dict[uuid.UUID, list[PoolKey]] = {}
    for key in rows.keys:
        keys_by_config.setdefault(key.provider_config_id, []).append(
            PoolKey(
                id=key.id,
                sealed=key.secret,
                state=key.state,
                cooldown_until=key.cooldown_until,
            )
        )
    families = family_facts(rows.providers, frozenset(keys_by_config), deployment)
    facts_by_id = {facts.id: facts for family in families.values() for facts in family.providers}
    providers = {
        row.id: ProviderEntry(
            facts=facts_by_id[row.id],
            effective_base_url=row.base_url or deployment.default_base_url(row.family),
            connect_timeout_s=row.connect_timeout_s,
            first_byte_timeout_s=row.first_byte_timeout_s,
            idle_timeout_s=row.idle_timeout_s,
            keys=tuple(keys_by_config.get(row.id, ())),
        )
        for row in rows.providers
    }
    models = {
        model.id: ModelEntry(
            facts=model_facts(model),
            name=model.name,
            upstream_model=model.model,
            display_name=model.display_name,
            is_default=model.is_default,
            options=MappingProxyType(dict(model.options or {})),
            created_at=model.created_at,
            context_limit=model.context_limit,
            compression_threshold=model.compression_threshold,
        )
        for model in rows.models
    }
    user_keys = {(key.user_id, key.provider_config_id): key.secret for key in rows.user_keys}
    user_key_config_ids: dict[uuid.UUID, set[uuid.UUID]] = {}
    for user_id, config_id in user_keys:
        user_key_config_ids.setdefault(user_id, set()).add(config_id)
    return Snapshot(
        tokens=MappingProxyType(
            {t.token_hash: TokenEntry(t.id, t.user_id, t.expires_at) for t in rows.tokens}
        ),
        users=MappingProxyType(
            {u.id: UserEntry(u.id, u.username, Role(u.role), u.disabled) for u in rows.users}
        ),
        models_by_name=MappingProxyType({m.name: m for m in models.values()}),
        models_by_id=MappingProxyType(models),
        providers=MappingProxyType(providers),
        families=MappingProxyType(families),
        user_keys=MappingProxyType(user_keys),
        user_key_config_ids=MappingProxyType(
            {u: frozenset(ids) for u, ids in user_key_config_ids.items()}
        ),
    )


class SnapshotHolder:
    def __init__(self, db: Database, deployment: Deployment) -> None:
        self._db = db
        self._deployment = deployment
        self._current: Snapshot | None = None
        self._generation = 0
        self._loaded_generation = -1
        self._lock = asyncio.Lock()
        self.loads = 0

    @property
    def generation(self) -> int:
        return self._generation

    def invalidate(self) -> None:
        """Something changed: the next ``get`` reloads."""
        self._generation += 1

    async def reload(self) -> None:
        """Load a fresh snapshot in the background; requests keep the current one meanwhile."""
        async with self._lock:
            await self._load()

    async def _load(self) -> Snapshot:
        generation = self._generation
        rows = await self._db.read(lambda session: load_snapshot_rows(session, utcnow()))
        snapshot = build_snapshot(rows, self._deployment)
        self._current = snapshot
        # If an invalidation arrived during the load, this snapshot stays stale.
        self._loaded_generation = generation
        self.loads += 1
        return snapshot

    async def get(self) -> Snapshot:
        """A snapshot that includes every change made before this call (a request sees
        the writes that preceded it)."""
        wanted = self._generation
        current = self._current
        if current is not None and self._loaded_generation >= wanted:
            return current
        async with self._lock:
            # A load that finished while this request waited for the lock may already
            # include everything it needs: then it serves, instead of one more load per
            # waiting request while writes keep coming (soak: on PostgreSQL, 8 writes/s
            # pushed the gateway's p50 to ~0.5 s).
            if self._current is not None and self._loaded_generation >= wanted:
                return self._current
            return await self._load()
