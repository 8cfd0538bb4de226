"""``/healthz``, ``/readyz`` and ``/metrics`` (SPEC §12)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.api.deps import Context, requires
from chatgate.api.responses import JsonResponse
from chatgate.authz import Permission
from chatgate.db.migrate import current_revision, head_revision
from chatgate.encryption.registry import digest_states, secrets_per_digest


# The bodies, for the OpenAPI document (readyz builds its own; kept here, beside the one
# route that builds it, so a new field is not forgotten).
class Health(BaseModel):
    status: Literal["ok"] = Field(description="Always `ok`: the process answers.")


class Readiness(BaseModel):
    status: Literal["ready", "unready"] = Field(
        description="`ready` when every check is `ok` (200), else `unready` (503)."
    )
    checks: dict[str, str] = Field(
        description="Each check (`database`, `migrations`, `encryption_keys`, …): `ok`, or why not."
    )
    change_feed: dict[str, Any] | None = Field(
        default=None,
        description="How this replica hears of changes other processes commit (`mode`, "
        "`connected`, `down_for_s`, …), on servers that have a change feed.",
    )
    key_undecryptable: dict[str, int] | None = Field(
        default=None,
        description="Present when some secrets are sealed under a key digest this replica has no "
        "key for: digest → number of secrets (they fail one by one; not unready).",
    )


router = APIRouter(tags=["system"])
CHANGE_FEED_GRACE_S = 5.0


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz(_ctx: Context = requires(Permission.PUBLIC)) -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: database reachable, migrations at head, encryption keys valid",
    responses={503: {"model": Readiness, "description": "Not ready; `checks` says why."}},
)
async def readyz(ctx: Context = requires(Permission.PUBLIC)) -> Response:
    checks: dict[str, Any] = {}
    keyring = ctx.runtime.keyring

    head = head_revision()

    async def probe(
        session: AsyncSession,
    ) -> tuple[str | None, dict[str, str], dict[str, int]]:
        revision = await current_revision(session)
        if revision != head:  # the tables below may not exist (yet) in this schema
            return revision, {}, {}
        return revision, await digest_states(session), await secrets_per_digest(session)

    try:
        revision, states, secrets = await ctx.runtime.db.read(probe)
        checks["database"] = "ok"
    except Exception as error:  # any failure means "not ready", with the reason's type only
        checks["database"] = f"unreachable ({type(error).__name__})"
        return JsonResponse({"status": "unready", "checks": checks}, status_code=503)
    checks["migrations"] = "ok" if revision == head else f"at {revision}, head is {head}"
    missing = [d for d, state in states.items() if state == "active" and not keyring.has(d)]
    # The database's view, not the one loaded at start: a rotation by another process
    # (``chatgate keys rotate``) that revoked this replica's primary makes it unready.
    if states.get(keyring.primary_digest) == "revoked":
        checks["encryption_keys"] = f"primary key {keyring.primary_digest} is revoked"
    elif missing:
        checks["encryption_keys"] = "no key for digest " + ", ".join(missing)
    else:
        checks["encryption_keys"] = "ok"
    changes = ctx.runtime.changes
    if changes.mode == "listen" and changes.down_for() > CHANGE_FEED_GRACE_S:
        # Without LISTEN this replica would serve stale keys and tokens (SPEC §11).
        checks["change_feed"] = f"LISTEN connection down for {changes.down_for():.0f} s"
    else:
        checks["change_feed"] = "ok"
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {
        "status": "ready" if ready else "unready",
        "checks": checks,
        "change_feed": changes.detail(),
    }
    # Secrets under a digest this replica has no key for are unusable one by one; they do
    # not make the replica unready (SPEC §7), but operators see them here.
    undecryptable = {d: n for d, n in secrets.items() if not keyring.has(d)}
    if undecryptable:
        body["key_undecryptable"] = undecryptable
    return JsonResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics",
    responses={
        200: {
            "description": "Prometheus text exposition format. Labels never contain user, "
            "token or key ids.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(ctx: Context = requires(Permission.METRICS)) -> Response:
    return Response(ctx.runtime.metrics.render(), media_type="text/plain; version=0.0.4")
