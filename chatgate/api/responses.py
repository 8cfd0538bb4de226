"""A JSON response rendered with orjson (fast, and refuses unknown types such as sealed secrets)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class JsonResponse(JSONResponse):
    # A JSONResponse (only ``render`` differs) so that FastAPI documents the routes' response
    # models: for any other response class it writes a bare ``{"type": "string"}``.
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
