"""Bodies of ``/healthz`` and ``/readyz`` (SPEC §12), for the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: Literal["ok"] = Field(description="Always `ok`: the process answers.")


class Readiness(BaseModel):
    status: Literal["ready", "unready"] = Field(
        description="`ready` when every check is `ok` (200), else `unready` (503)."
    )
    checks: dict[str, str] = Field(
        description="`database`, `migrations` and `encryption_keys`: `ok`, or why not."
    )
    key_undecryptable: dict[str, int] | None = Field(
        default=None,
        description="Present when some secrets are sealed under a key digest this replica has no "
        "key for: digest → number of secrets (they fail one by one; not unready).",
    )
