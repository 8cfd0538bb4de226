"""Writing audit entries. Values that look like secrets never reach the table."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.authz.actor import Actor
from chatgate.crypto.sealed import SealedSecret
from chatgate.db.tables import AuditEntry
from chatgate.ids import new_id, utcnow
from chatgate.store.audit import add_entry

REDACTED = "<redacted>"
# A field named like a secret (api_key, user_token, …) but not a flag about one (has_api_key).
_SECRET_FIELD = re.compile(r"^(?!has_)(?:.*_)?(?:api_key|key|secret|token|password)$")


def redact(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-safe copy with secret-looking fields and sealed values replaced."""
    if values is None:
        return None
    return {name: _redact_value(name, value) for name, value in values.items()}


def _redact_value(name: str, value: Any) -> Any:
    if isinstance(value, SealedSecret) or (_SECRET_FIELD.search(name) and value is not None):
        return REDACTED
    if isinstance(value, Mapping):
        return redact(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_redact_value("", item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: uuid.UUID | str | None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    add_entry(
        session,
        AuditEntry(
            id=new_id(),
            created_at=utcnow(),
            actor_id=actor.user_id,
            source=actor.source,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            before=redact(before),
            after=redact(after),
        ),
    )
