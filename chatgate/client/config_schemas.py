"""Bodies of ``/api/v1/config`` (configuration as code, SPEC §12, §14) as the SDK reads
and sends them. The document itself stays a plain mapping: the CLI reads it from YAML and
the server validates it (400/422 naming the path in the document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ChangeAction = Literal["create", "update", "delete"]
ChangeKind = Literal[
    "provider", "provider_key", "model", "default_model", "chat_retention_days", "user_keys"
]


class ConfigExport(BaseModel):
    document: dict[str, Any] = Field(
        description="The configuration; secrets only as `env:` references."
    )


class ConfigChange(BaseModel):
    action: ChangeAction
    kind: ChangeKind
    name: str
    fields: list[str] = Field(default_factory=list, description="Changed fields (updates).")
    cascade: bool = Field(default=False, description="A consequence of another change.")
    detail: str = Field(default="", description="A sentence for people.")


class ConfigChanges(BaseModel):
    changes: list[ConfigChange]
