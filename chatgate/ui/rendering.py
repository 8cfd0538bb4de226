"""Rendering a UI page: one template environment and the values every page's layout needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from chatgate.authz import Actor, Permission
from chatgate.ui.wording import unavailable_sentence

# Autoescaping is on for .html templates (Starlette's environment): names show as text.
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["unavailable_sentence"] = unavailable_sentence


def render_page(
    request: Request, template: str, actor: Actor | None, code: int = 200, **values: Any
) -> Response:
    """``template`` rendered for ``actor`` (None on the sign-in and error pages)."""
    response: Response = templates.TemplateResponse(
        request,
        template,
        {
            "actor": actor,
            "can_see_providers": actor is not None and actor.can(Permission.ADMIN_READ),
            **values,
        },
        status_code=code,
    )
    return response
