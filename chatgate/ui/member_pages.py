"""Pages every signed-in user has (SPEC §6, §10, §12): their own provider keys here; chats
in ``chat_pages``; audit and usage in ``report_pages``. ``router`` carries all three, so
the app registers the member pages with one line.

Pages read through the same services as the API; every write goes from ``chat.js`` (or
``keys.js``) to the same ``/api/v1`` endpoint a client would call, with the CSRF header, so
there is one set of rules and the page shows the API's own error message.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from chatgate.api.deps import Context, requires
from chatgate.authz import Permission
from chatgate.ui import chat_pages, report_pages
from chatgate.ui.rendering import render_page
from chatgate.userkeys import service as userkey_service

keys_router = APIRouter(prefix="/ui", include_in_schema=False)


@keys_router.get("/my-keys")
async def my_keys_page(
    request: Request, ctx: Context = requires(Permission.AUTHENTICATED)
) -> Response:
    entries = await ctx.read(userkey_service.list_provider_keys, ctx.user, ctx.runtime.deployment)
    return render_page(request, "my_keys.html", ctx.user, entries=entries)


router = APIRouter()
router.include_router(keys_router)
router.include_router(chat_pages.router)
router.include_router(report_pages.router)
