"""Plain facts the resolver works on, and the one precedence function (SPEC §1).

The gateway builds these from its in-memory snapshot, the HTTP API from database rows.
They are frozen and hold only tuples, so nothing the resolver returns can alias mutable
caller state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, Protocol, TypeAlias, TypeVar
from uuid import UUID

from chatgate.families import FAMILY_ORDER

KeySource: TypeAlias = Literal["user", "central", "deployment"]
CentralKeySource: TypeAlias = Literal["central", "deployment"]
# "user" = the user's own key; "shared" = a central or deployment key (the organisation pays).
KeySourceClass: TypeAlias = Literal["user", "shared"]

# Reasons one provider config cannot serve a user (the §5 table, plus a disabled config).
KeyUnavailableReason: TypeAlias = Literal[
    "provider_disabled", "user_api_key_required", "missing_api_key"
]
UnavailableReason: TypeAlias = Literal[
    "model_disabled",
    "provider_disabled",
    "user_api_key_required",
    "missing_api_key",
    "family_not_supported",
]

# Families whose configs are different servers, not interchangeable accounts (§4, §5): an
# unbound model there is served only by the family's deployment key, never by a config.
DEPLOYMENT_ONLY_UNBOUND_FAMILIES: Final[frozenset[str]] = frozenset({"openai-compat"})


def _check_family(family: str) -> None:
    if family not in FAMILY_ORDER:
        raise ValueError(f"unknown provider family {family!r}")


@dataclass(frozen=True, slots=True)
class ProviderFacts:
    """What the resolver needs to know about one provider config.

    ``base_url`` is ``""`` when the config uses its family's default base URL.
    ``has_stored_key`` is true when the pool holds at least one *enabled* key, whatever its
    state: an enabled key that is invalid or cooling down still counts, so an exhausted pool
    fails instead of switching to the deployment key (§5, §8).
    ``created_at`` must be timezone-aware (UTC), so precedence never compares naive and
    aware timestamps.
    """

    id: UUID
    family: str
    name: str
    base_url: str
    enabled: bool
    central_api_key_enabled: bool
    allow_user_api_key: bool
    allow_central_api_key_fallback: bool
    created_at: datetime
    has_stored_key: bool

    def __post_init__(self) -> None:
        _check_family(self.family)
        if self.created_at.utcoffset() is None:
            raise ValueError("ProviderFacts.created_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """A model config: its family and optional binding (``None`` = unbound)."""

    id: UUID
    family: str
    provider_config_id: UUID | None
    enabled: bool

    def __post_init__(self) -> None:
        _check_family(self.family)


@dataclass(frozen=True, slots=True)
class FamilyFacts:
    """Every provider config of one family (any order) and its deployment key.

    ``has_deployment_key`` means a *usable* deployment key: ``CHATGATE_<FAMILY>_API_KEY`` is
    set and the family has a default base URL (built in or from the environment), because a
    deployment key is only ever sent to that URL (§1).
    """

    family: str
    has_deployment_key: bool
    providers: tuple[ProviderFacts, ...]

    def __post_init__(self) -> None:
        _check_family(self.family)
        for provider in self.providers:
            if provider.family != self.family:
                raise ValueError(
                    f"provider config {provider.id} is {provider.family!r}, not {self.family!r}"
                )
        if len({provider.id for provider in self.providers}) != len(self.providers):
            raise ValueError("duplicate provider config id in FamilyFacts")


class HasPrecedence(Protocol):
    """Anything ordered like a provider config: store rows, schemas, ``ProviderFacts``."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> UUID: ...


_P = TypeVar("_P", bound=HasPrecedence)


def precedence_key(config: HasPrecedence) -> tuple[datetime, UUID]:
    """Sort key of precedence inside a family: ``created_at`` ascending, then ``id``."""
    return (config.created_at, config.id)


def by_precedence(configs: Iterable[_P]) -> tuple[_P, ...]:
    """The configs in precedence order, as a new tuple ("oldest wins")."""
    return tuple(sorted(configs, key=precedence_key))
