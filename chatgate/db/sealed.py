"""Every sealed column and how its rows are identified (the associated data of SPEC §7).

Services seal and open through these functions only, so a ciphertext is always bound to
the same (table, column, row identity) triple that rotation uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatgate.crypto.keyring import SecretContext
from chatgate.db.tables import Base, ProviderKey, UserProviderKey


def provider_key_context(key_id: uuid.UUID) -> SecretContext:
    return SecretContext("provider_keys", "secret", str(key_id))


def user_key_context(user_id: uuid.UUID, provider_config_id: uuid.UUID) -> SecretContext:
    return SecretContext("user_provider_keys", "secret", f"{user_id}:{provider_config_id}")


@dataclass(frozen=True)
class SealedColumnSpec:
    model: type[Base]
    column: str
    context: Callable[[Any], SecretContext]


SEALED_COLUMNS: tuple[SealedColumnSpec, ...] = (
    SealedColumnSpec(ProviderKey, "secret", lambda row: provider_key_context(row.id)),
    SealedColumnSpec(
        UserProviderKey,
        "secret",
        lambda row: user_key_context(row.user_id, row.provider_config_id),
    ),
)
