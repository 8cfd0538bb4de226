"""In-memory key health and pool selection (SPEC §8).

Cooldowns are per (key, upstream model); 401 marks a key invalid; 403 changes nothing.
Selection among keys ready now is round-robin per provider config (the cursor is per
replica). Stored states and cooldowns from the snapshot are honoured; what happens here
applies at once and is stored by ``gateway.keystate`` for every other process.

An invalid mark belongs to the key's *secret*: when an admin replaces the secret, the
snapshot carries a new sealed value and the mark no longer applies.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatgate.crypto.sealed import SealedSecret
from chatgate.db.tables import KeyState
from chatgate.gateway.snapshot import PoolKey, ProviderEntry

MAX_COOLDOWN = timedelta(hours=24)
MAX_BACKOFF_S = 60.0
# Bound once: the pool choice runs on every request.
_INVALID = KeyState.INVALID
_COOLING_DOWN = KeyState.COOLING_DOWN


@dataclass(frozen=True, slots=True)
class PoolChoice:
    keys: tuple[PoolKey, ...]  # usable now, in the order to try them
    all_invalid: bool
    earliest_ready: datetime | None  # when every usable key is cooling down


# A cooldown seen here belongs to the key's secret: a replaced secret starts afresh.
_Slot = tuple[uuid.UUID, SealedSecret, str]


class KeyHealth:
    def __init__(self) -> None:
        self._cooldown_until: dict[_Slot, datetime] = {}
        self._consecutive_429: dict[_Slot, int] = {}
        self._invalid: set[tuple[uuid.UUID, SealedSecret]] = set()
        self._cursor: dict[uuid.UUID, int] = {}
        # Cooldowns stored by any process, (key id, upstream model) -> end; replaced whole.
        self._stored: Mapping[tuple[uuid.UUID, str], datetime] = {}

    def replace_stored(self, stored: Mapping[tuple[uuid.UUID, str], datetime]) -> None:
        self._stored = stored

    def choose(self, provider: ProviderEntry, upstream_model: str, now: datetime) -> PoolChoice:
        ready: list[PoolKey] = []
        cooling: list[datetime] = []
        for key in provider.keys:
            if key.state == _INVALID or (key.id, key.sealed) in self._invalid:
                continue
            slot = (key.id, key.sealed, upstream_model)
            until = self._cooldown_until.get(slot)
            if until is not None and until <= now:
                del self._cooldown_until[slot]  # expired: forget it
                until = None
            if key.state == _COOLING_DOWN and key.cooldown_until is not None:
                until = max(until, key.cooldown_until) if until else key.cooldown_until
            stored = self._stored.get((key.id, upstream_model)) if self._stored else None
            if stored is not None:  # another process (or an earlier life of this one) saw it
                until = max(until, stored) if until else stored
            if until is not None and until > now:
                cooling.append(until)
                continue
            ready.append(key)
        if not ready:
            return PoolChoice(
                (), all_invalid=not cooling, earliest_ready=min(cooling) if cooling else None
            )
        start = self._cursor.get(provider.facts.id, 0) % len(ready)
        self._cursor[provider.facts.id] = start + 1
        return PoolChoice(
            tuple(ready[start:] + ready[:start]), all_invalid=False, earliest_ready=None
        )

    def rate_limited(
        self, key: PoolKey, upstream_model: str, now: datetime, retry_after_s: float | None
    ) -> datetime:
        """Cool the (key, model) pair down; returns when it is ready again.

        A 429 that arrives while the pair is already cooling down answers a request sent
        before the cooldown began: a burst in flight is one rate limit, not many, so it
        does not double the back-off (an explicit retry-after may still extend it)."""
        slot = (key.id, key.sealed, upstream_model)
        current = self._cooldown_until.get(slot)
        if current is not None and current > now:
            if retry_after_s is None:
                return current
            extended = max(current, now + min(timedelta(seconds=retry_after_s), MAX_COOLDOWN))
            self._cooldown_until[slot] = extended
            return extended
        count = self._consecutive_429.get(slot, 0) + 1
        self._consecutive_429[slot] = count
        seconds = (
            retry_after_s if retry_after_s is not None else min(MAX_BACKOFF_S, 2.0 ** (count - 1))
        )
        until = now + min(timedelta(seconds=max(seconds, 0.0)), MAX_COOLDOWN)
        self._cooldown_until[slot] = until
        return until

    def succeeded(self, key: PoolKey, upstream_model: str) -> None:
        self._consecutive_429.pop((key.id, key.sealed, upstream_model), None)

    def invalid(self, key: PoolKey) -> None:
        self._invalid.add((key.id, key.sealed))

    def forget_invalid(self, key: PoolKey) -> None:
        """The stored state now carries it (see ``gateway.keystate``)."""
        self._invalid.discard((key.id, key.sealed))
