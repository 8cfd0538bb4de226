"""The admin pages of the UI (SPEC §12, §13), one router for ``create_app`` to include:
provider configs with their key pools, model configs, users and tokens.

Why every write is a ``fetch`` to ``/api/v1`` (``static/admin.js``) rather than an HTML form
posted to a ``/ui`` handler: the UI then obeys exactly the rules, permissions, CSRF check
and error codes an API client meets, with no second set of handlers to keep in step, and
an error's ``detail`` names the field its message belongs next to.
"""

from __future__ import annotations

from fastapi import APIRouter

from chatgate.ui import model_pages, provider_pages, user_pages

router = APIRouter(include_in_schema=False)
router.include_router(provider_pages.router)
router.include_router(model_pages.router)
router.include_router(user_pages.router)
