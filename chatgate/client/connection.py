"""Where the server is and who calls it: shared by both clients (and the CLI)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from chatgate.client.errors import ChatgateError

DEFAULT_TIMEOUT_S = 60.0
URL_VARIABLE = "CHATGATE_URL"
TOKEN_VARIABLE = "CHATGATE_TOKEN"  # noqa: S105 - a variable's name


@dataclass(frozen=True)
class Connection:
    base_url: str
    token: str | None = field(default=None, repr=False)  # never in a repr or a message

    @classmethod
    def from_arguments(cls, url: str | None, token: str | None) -> Connection:
        """``url``/``token``, else ``CHATGATE_URL``/``CHATGATE_TOKEN``."""
        url = url or os.environ.get(URL_VARIABLE)
        if not url:
            raise ValueError(f"no server URL: pass url= or set {URL_VARIABLE}")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the server URL must start with http:// or https:// (got {url!r})")
        return cls(url.rstrip("/"), token or os.environ.get(TOKEN_VARIABLE) or None)

    def headers(self) -> dict[str, str]:
        # The CSRF header only matters once ``sign_in`` put a session cookie in the jar
        # (SPEC §12: cookie-authenticated writes must carry it); a program, unlike a
        # browser page, cannot be tricked into sending requests by another site.
        headers = {"user-agent": "chatgate-client", "x-chatgate-csrf": "1"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        return headers

    def openai_arguments(self) -> dict[str, Any]:
        """What ``openai.OpenAI`` needs to talk to this server's gateway (``/v1``)."""
        if not self.token:
            raise ChatgateError(401, "unauthenticated", "the gateway needs a token")
        return {"base_url": f"{self.base_url}/v1", "api_key": self.token}
