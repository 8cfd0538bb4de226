"""The access line: one per request, and what the gateway adds to it (SPEC §12).

The request middleware opens a ``RequestTrace`` for every request and writes the line when
the response is finished (after the last chunk of a stream). The gateway notes the model
and each upstream attempt on the trace of the request it serves, found through a context
variable, so no layer between them has to carry it.

Only names, sources, statuses and error classes are recorded: never a key, a token or any
text of a prompt or an answer.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass, field

access_log = logging.getLogger("chatgate.access")
upstream_log = logging.getLogger("chatgate.upstream")

# Paths are the client's to choose: only so much of one is written.
MAX_LOGGED_PATH = 512
# Failures a client causes or that are not a provider's fault are not warnings.
_QUIET_ERROR_CLASSES = frozenset({"client_disconnected"})


@dataclass(slots=True)
class RequestTrace:
    model: str | None = None
    provider_config: str | None = None
    key_source: str | None = None
    attempts: int = 0
    # "<status>:<error class>" of each attempt that did not answer, in order.
    failed_attempts: list[str] = field(default_factory=list)


current_trace: ContextVar[RequestTrace | None] = ContextVar("chatgate_trace", default=None)


def note_model(model: str) -> None:
    trace = current_trace.get()
    if trace is not None:
        trace.model = model


def note_attempt(
    *,
    request_id: str,
    model: str,
    provider_config: str,
    key_source: str,
    attempt: int,
    status: int,
    error_class: str | None,
) -> None:
    """One upstream attempt ended; a failed one is also a warning of its own."""
    trace = current_trace.get()
    if trace is not None:
        trace.model = model
        trace.provider_config = provider_config
        trace.key_source = key_source
        trace.attempts = max(trace.attempts, attempt)
        if error_class is not None:
            trace.failed_attempts.append(f"{status}:{error_class}")
    if error_class is not None and error_class not in _QUIET_ERROR_CLASSES:
        upstream_log.warning(
            "upstream attempt failed",
            extra={
                "fields": {
                    "request_id": request_id,
                    "model": model,
                    "provider_config": provider_config,
                    "key_source": key_source,
                    "attempt": attempt,
                    "status": status,
                    "error_class": error_class,
                }
            },
        )


def write_access_line(
    *,
    method: str,
    path: str,
    status: int,
    duration_s: float,
    request_id: str,
    trace: RequestTrace,
) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    fields: dict[str, object] = {
        "method": method,
        "path": path[:MAX_LOGGED_PATH],
        "status": status,
        "duration_ms": round(duration_s * 1000, 2),
        "request_id": request_id,
    }
    if trace.model is not None:
        fields["model"] = trace.model
        fields["provider_config"] = trace.provider_config
        fields["key_source"] = trace.key_source
        fields["attempts"] = trace.attempts
        fields["failed_attempts"] = ",".join(trace.failed_attempts) or None
    access_log.info("request", extra={"fields": fields})
