"""``/healthz``, ``/readyz`` and ``/metrics`` (SPEC §12)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from chatgate.api.deps import Context, requires
from chatgate.api.responses import JsonResponse
from chatgate.authz import Permission
from chatgate.crypto.registry import digest_states
from chatgate.db.migrate import current_revision, head_revision

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz(_ctx: Context = requires(Permission.PUBLIC)) -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(ctx: Context = requires(Permission.PUBLIC)) -> Response:
    checks: dict[str, Any] = {}
    keyring = ctx.runtime.keyring

    async def probe(session: AsyncSession) -> tuple[str | None, dict[str, str]]:
        return await current_revision(session), await digest_states(session)

    try:
        revision, states = await ctx.runtime.db.read(probe)
        checks["database"] = "ok"
    except Exception as error:  # any failure means "not ready", with the reason's type only
        checks["database"] = f"unreachable ({type(error).__name__})"
        return JsonResponse({"status": "unready", "checks": checks}, status_code=503)
    head = head_revision()
    checks["migrations"] = "ok" if revision == head else f"at {revision}, head is {head}"
    missing = [d for d, state in states.items() if state == "active" and not keyring.has(d)]
    if keyring.primary_digest in keyring.revoked:
        checks["encryption_keys"] = f"primary key {keyring.primary_digest} is revoked"
    elif missing:
        checks["encryption_keys"] = "no key for digest " + ", ".join(missing)
    else:
        checks["encryption_keys"] = "ok"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics")
async def metrics(ctx: Context = requires(Permission.METRICS)) -> Response:
    return Response(ctx.runtime.metrics.render(), media_type="text/plain; version=0.0.4")
