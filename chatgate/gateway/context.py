"""What one request's attempt loop and recorder use of the per-process gateway.

``Gateway`` (``gateway.service``) satisfies this protocol; the attempt loop and the
recorder name the protocol, so neither imports the module that runs them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Protocol

from chatgate.crypto.keyring import KeyRing
from chatgate.gateway.keyhealth import KeyHealth
from chatgate.gateway.keystate import KeyStateWriter
from chatgate.gateway.snapshot import PoolKey, ProviderEntry
from chatgate.metrics import Metrics
from chatgate.settings import Deployment, Settings
from chatgate.upstream.http import UpstreamClient
from chatgate.usage.last_used import LastUsedTracker
from chatgate.usage.recorder import UsageRecorder


class GatewayContext(Protocol):
    settings: Settings
    deployment: Deployment
    keyring: KeyRing
    metrics: Metrics
    client: UpstreamClient
    usage: UsageRecorder
    last_used: LastUsedTracker
    health: KeyHealth
    key_states: KeyStateWriter
    installation_id: str


@dataclass(frozen=True, slots=True)
class AttemptPlan:
    """One attempt: a config (or the deployment key) and one opened key."""

    family: str
    label: str  # the config's name, or deployment:<family>
    provider: ProviderEntry | None
    key_source: str
    pool_key: PoolKey | None  # the central pool key, when the key comes from a pool
    api_key: str = field(repr=False)
    base_url: str

    @property
    def provider_config_id(self) -> uuid.UUID | None:
        return self.provider.facts.id if self.provider is not None else None

    @property
    def key_id(self) -> uuid.UUID | None:
        return self.pool_key.id if self.pool_key is not None else None
