"""What went wrong across a request's attempts, and the answer when none succeeded (SPEC §9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from chatgate.gateway.errors import GatewayError
from chatgate.ids import utcnow


@dataclass(slots=True)
class Failures:
    """What went wrong so far, to choose the final answer when no attempt succeeded."""

    statuses: list[int] = field(default_factory=list)
    timeouts: int = 0
    service: int = 0
    all_invalid_pools: int = 0
    earliest_ready: datetime | None = None
    last_message: str | None = None
    last_label: str | None = None
    answered_by: tuple[str, str] | None = None  # (config label, key source) of the last attempt
    final: GatewayError | None = None  # set when an attempt ends the request

    def attempted(self, label: str, key_source: str) -> None:
        self.last_label = label
        self.answered_by = (label, key_source)

    def cooling(self, until: datetime) -> None:
        self.earliest_ready = (
            until if self.earliest_ready is None else min(self.earliest_ready, until)
        )


def timeout_error(label: str) -> GatewayError:
    return GatewayError(
        504, "upstream_timeout", f"the upstream did not answer in time (provider config {label})"
    )


def final_error(failures: Failures) -> GatewayError:
    """The answer when no attempt succeeded (SPEC §9)."""
    if failures.final is not None:
        return failures.final
    where = f" (provider config {failures.last_label})" if failures.last_label else ""
    statuses = failures.statuses
    if failures.service:
        return GatewayError(502, "upstream_error", f"the upstream failed{where}")
    if failures.timeouts:
        return GatewayError(504, "upstream_timeout", f"the upstream did not answer in time{where}")
    if statuses and all(s == 403 for s in statuses):
        return GatewayError(
            403, "upstream_forbidden", failures.last_message or f"the upstream refused{where}"
        )
    if (statuses and all(s in (429, 402) for s in statuses)) or (
        not statuses and failures.earliest_ready
    ):
        retry = None
        if failures.earliest_ready is not None:
            retry = max(1.0, (failures.earliest_ready - utcnow()).total_seconds())
        return GatewayError(
            429,
            "rate_limited",
            f"every key is rate-limited or cooling down{where}",
            retry_after_s=retry,
        )
    if statuses or failures.all_invalid_pools:
        return GatewayError(502, "upstream_auth_failed", f"the upstream rejected every key{where}")
    return GatewayError(503, "missing_api_key", "no usable API key is configured for this model")
