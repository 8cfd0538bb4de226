"""Usage rows and metrics of attempts (one row per attempt, attempt 0 for a refusal)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from chatgate.gateway.context import AttemptPlan, GatewayContext
from chatgate.gateway.snapshot import ModelEntry, UserEntry
from chatgate.ids import utcnow
from chatgate.requestlog import note_attempt, note_model
from chatgate.upstream.adapters.base import Usage
from chatgate.usage.recorder import UsageRecorder, UsageRow


@dataclass(frozen=True, slots=True)
class Caller:
    user: UserEntry
    token_id: uuid.UUID | None  # None: a chat reply asked for through /api/v1


def record_refusal(
    usage: UsageRecorder,
    request_id: str,
    caller: Caller,
    model: ModelEntry,
    status: int,
    reason: str,
) -> None:
    note_model(model.name)
    usage.record(
        UsageRow(
            request_id=request_id,
            user_id=caller.user.id,
            model_config_id=model.facts.id,
            provider_config_id=model.facts.provider_config_id,
            key_id=None,
            key_source=None,
            status=status,
            error_class=reason,
            attempt=0,
            latency_ms=0.0,
            ttfb_ms=None,
            input_tokens=None,
            output_tokens=None,
            created_at=utcnow(),
        )
    )


class AttemptRecorder:
    """Usage row and metrics of one attempt, written once."""

    __slots__ = (
        "_first_byte",
        "attempt",
        "caller",
        "gateway",
        "model",
        "plan",
        "request_id",
        "started",
    )

    def __init__(
        self,
        gateway: GatewayContext,
        plan: AttemptPlan,
        model: ModelEntry,
        caller: Caller,
        request_id: str,
        attempt: int,
        started: float,
    ) -> None:
        self.gateway = gateway
        self.plan = plan
        self.model = model
        self.caller = caller
        self.request_id = request_id
        self.attempt = attempt
        self.started = started
        self._first_byte: float | None = None

    def first_byte(self) -> None:
        self._first_byte = time.perf_counter()
        self.gateway.metrics.upstream_ttfb.labels(self.plan.family, self.plan.label).observe(
            self._first_byte - self.started
        )

    def done(self, status: int, error_class: str | None, usage: Usage | None = None) -> None:
        elapsed = time.perf_counter() - self.started
        now = utcnow()
        if self.plan.key_id is not None and error_class is None:
            self.gateway.last_used.key_used(self.plan.key_id, now)
        note_attempt(
            request_id=self.request_id,
            model=self.model.name,
            provider_config=self.plan.label,
            key_source=self.plan.key_source,
            attempt=self.attempt,
            status=status,
            error_class=error_class,
        )
        metrics = self.gateway.metrics
        metrics.upstream_latency.labels(self.plan.family, self.plan.label).observe(elapsed)
        metrics.upstream_attempts.labels(
            self.plan.family, self.plan.label, error_class or "ok"
        ).inc()
        self.gateway.usage.record(
            UsageRow(
                request_id=self.request_id,
                user_id=self.caller.user.id,
                model_config_id=self.model.facts.id,
                provider_config_id=self.plan.provider_config_id,
                key_id=self.plan.key_id,
                key_source=self.plan.key_source,
                status=status,
                error_class=error_class,
                attempt=self.attempt,
                latency_ms=elapsed * 1000,
                ttfb_ms=None
                if self._first_byte is None
                else (self._first_byte - self.started) * 1000,
                input_tokens=usage.input_tokens if usage else None,
                output_tokens=usage.output_tokens if usage else None,
                created_at=now,
            )
        )
