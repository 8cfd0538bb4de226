"""Everything a running server holds, built once at start and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatgate.crypto.keyring import KeyRing
from chatgate.db.changes import ChangeFeedStatus
from chatgate.db.engine import Database
from chatgate.metrics import Metrics
from chatgate.settings import Deployment, Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    keyring: KeyRing
    deployment: Deployment
    metrics: Metrics
    changes: ChangeFeedStatus = field(default_factory=ChangeFeedStatus)
