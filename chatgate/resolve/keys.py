"""Key resolution for one provider config (SPEC §3, §5).

Everything here looks at one config and the family's deployment key only: a config's keys
and flags are never derived from a sibling config.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from chatgate.resolve.facts import (
    CentralKeySource,
    KeySource,
    KeySourceClass,
    KeyUnavailableReason,
    ProviderFacts,
)


def has_api_key(config: ProviderFacts) -> bool:
    """§3 ``has_api_key``: the config has at least one enabled stored central key."""
    return config.has_stored_key


def central_key_source(config: ProviderFacts, has_deployment_key: bool) -> CentralKeySource | None:
    """The config's central key (§5), or ``None`` when it has none.

    None when central keys are disabled (stored keys are then ignored entirely); the pool
    when it holds an enabled key (never the deployment key then, even when the pool is
    exhausted); otherwise the deployment key, only when the config uses the family's
    default base URL, the one place a deployment key may be sent.
    """
    if not config.central_api_key_enabled:
        return None
    if config.has_stored_key:
        return "central"
    if config.base_url == "" and has_deployment_key:
        return "deployment"
    return None


def has_effective_api_key(config: ProviderFacts, has_deployment_key: bool) -> bool:
    """§3 ``has_effective_api_key``: central enabled AND (has_api_key OR (base_url empty
    AND a deployment key exists))."""
    return central_key_source(config, has_deployment_key) is not None


def central_key_missing(config: ProviderFacts, has_deployment_key: bool) -> bool:
    """§3 ``central_key_missing``: an enabled config with central keys on and no effective
    central key. Callers apply it only on the writes §3 lists (create, enable, central on,
    stored keys removed)."""
    return (
        config.enabled
        and config.central_api_key_enabled
        and not has_effective_api_key(config, has_deployment_key)
    )


def depends_on_pool(config: ProviderFacts, has_deployment_key: bool) -> bool:
    """Whether an empty pool would leave the config with ``central_key_missing``: it is
    enabled, central keys are on and no usable deployment key stands behind it (§8's
    ``last_usable_key`` guard)."""
    return central_key_missing(replace(config, has_stored_key=False), has_deployment_key)


@dataclass(frozen=True, slots=True)
class KeyChoice:
    """The key one config would use for one user: exactly one of the two fields is set."""

    source: KeySource | None
    reason: KeyUnavailableReason | None

    def __post_init__(self) -> None:
        if (self.source is None) == (self.reason is None):
            raise ValueError("KeyChoice needs exactly one of source and reason")

    @property
    def available(self) -> bool:
        return self.source is not None


def resolve_key(
    config: ProviderFacts, *, user_has_key: bool, has_deployment_key: bool
) -> KeyChoice:
    """The §5 table, row by row, for one config and one user; a disabled config serves no one.

    A stored user key is ignored while the config does not allow user keys.
    """
    if not config.enabled:
        return KeyChoice(None, "provider_disabled")
    if config.allow_user_api_key and user_has_key:
        return KeyChoice("user", None)
    central = central_key_source(config, has_deployment_key)
    if central is not None:
        if not config.allow_user_api_key or config.allow_central_api_key_fallback:
            return KeyChoice(central, None)
        return KeyChoice(None, "user_api_key_required")
    if config.allow_user_api_key:
        return KeyChoice(None, "user_api_key_required")
    return KeyChoice(None, "missing_api_key")


def key_source_class(source: KeySource) -> KeySourceClass:
    """The class that fixes a request's failover (§5): the user's key, or a shared key."""
    return "user" if source == "user" else "shared"
