"""``/api/v1/config``: export, plan and apply (SPEC §12, §14)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from chatgate.api.deps import Context, requires
from chatgate.api.openapi import SECRETS_UNAVAILABLE, error_responses
from chatgate.authz import Permission
from chatgate.configdoc.apply import apply_document, plan_document
from chatgate.configdoc.export import export_document
from chatgate.configdoc.schemas import ChangesOut, ConfigRequest, ExportOut
from chatgate.errors import ApiError


def document_path(loc: tuple[Any, ...]) -> str:
    """``("body", "document", "providers", 1, "base_url")`` → ``providers[1].base_url``."""
    parts = [p for p in loc if p not in ("body",)]
    if parts and parts[0] == "document":
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "document"


class DocumentRoute(APIRoute):
    """A body the schema rejects is the usual 422 ``invalid_request``, with ``detail.path``
    naming the document's item the way the rest of the configuration errors do."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                first = error.errors()[0] if error.errors() else {}
                path = document_path(tuple(first.get("loc", ())))
                kind = first.get("type", "")
                message = {
                    "json_invalid": "request body is not valid JSON",
                    "extra_forbidden": "unknown field",
                    "missing": "field required",
                }.get(kind, str(first.get("msg", "invalid value")))
                raise ApiError(
                    422, "invalid_request", f"{path}: {message}", {"path": path}
                ) from None

        return handle


router = APIRouter(prefix="/api/v1", tags=["config"], route_class=DocumentRoute)

_ERRORS = (
    (
        400,
        "A rule rejects an item (its own code, e.g. `base_url_invalid`, `api_key_required`, "
        "`name_duplicate`, `label_required`, or `model_pruned`: pruning would soft-delete a "
        "model the document keeps); `detail.path` names the item, e.g. "
        "`providers[1].base_url`. Nothing is applied.",
    ),
    (
        409,
        "`user_key_loss`: the change would remove users' own keys and `allow_user_key_loss` "
        "is false; or a conflict of the item named in `detail.path` (e.g. `name_taken`).",
    ),
    (422, "The body's shape: `detail.path` names the item."),
)


@router.get(
    "/config",
    response_model=ExportOut,
    summary="Export the configuration",
    description="Provider configs with their key pools, model configs, the default model and "
    "chat retention, as one document that `POST /api/v1/config/apply` accepts. Secrets appear "
    "only as references `env:CHATGATE_KEY_<PROVIDER>_<LABEL>` (a later key whose reference "
    "would repeat an earlier one's gets `_2`, `_3` …); deployment keys are not exported. A key "
    "stored without a label of its own (or with a repeated one) is exported as `key-1`, "
    "`key-2` … in pool order; applying the export stores that label on it.",
)
async def export_config(ctx: Context = requires(Permission.ADMIN_READ)) -> ExportOut:
    return ExportOut(document=await ctx.read(export_document))


@router.post(
    "/config/plan",
    response_model=ChangesOut,
    summary="Plan a configuration document",
    description="The changes `apply` would make, cascades included (models soft-deleted, "
    "user keys removed, a new default), computed by the same code in a write transaction "
    "that is rolled back: nothing is stored, but the plan holds the apply lock while it runs "
    "(plans and applies run one after the other). For an admin, secrets are compared with "
    'the stored ones inside the server; a changed one shows as `fields: ["api_key"]`, never '
    "its value. For a caller who may not apply (an auditor) secrets are not compared at all: "
    "a given `api_key` of an existing key counts as absent (keep), so a plan cannot test "
    "guesses of a stored key.",
    responses=error_responses(*_ERRORS),
)
async def plan_config(
    body: ConfigRequest, ctx: Context = requires(Permission.ADMIN_READ)
) -> ChangesOut:
    changes = await plan_document(
        ctx.runtime.db, ctx.user, ctx.runtime.deployment, ctx.runtime.keyring, body
    )
    return ChangesOut(changes=changes)


@router.post(
    "/config/apply",
    response_model=ChangesOut,
    summary="Apply a configuration document",
    description="Makes the stored configuration match the document in one transaction, "
    "through the same rules as the API; each change is audited with source `config-apply`. "
    "Without `prune`, objects the document does not name are left alone. Applying the same "
    "document again answers `changes: []`.",
    responses=error_responses(*_ERRORS, SECRETS_UNAVAILABLE),
)
async def apply_config(
    body: ConfigRequest, ctx: Context = requires(Permission.ADMIN_WRITE)
) -> ChangesOut:
    changes = await ctx.write(
        apply_document, ctx.user, ctx.runtime.deployment, ctx.runtime.keyring, body
    )
    return ChangesOut(changes=changes)
