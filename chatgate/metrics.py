"""Prometheus metrics, one registry per app. Labels never carry user, token or key ids."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "chatgate_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "chatgate_http_request_duration_seconds",
            "HTTP request latency by route template and method.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.db_query_latency = Histogram(
            "chatgate_db_query_duration_seconds",
            "Database query latency.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "chatgate_auth_failures_total",
            "Rejected authentication attempts by reason.",
            ["reason"],
            registry=self.registry,
        )

        self.upstream_latency = Histogram(
            "chatgate_upstream_duration_seconds",
            "Upstream attempt duration by family and provider config.",
            ["family", "provider_config"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_ttfb = Histogram(
            "chatgate_upstream_first_byte_seconds",
            "Time to the first byte relayed to the client, by family and provider config.",
            ["family", "provider_config"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_attempts = Counter(
            "chatgate_upstream_attempts_total",
            "Upstream attempts by family, provider config and outcome.",
            ["family", "provider_config", "outcome"],
            registry=self.registry,
        )
        self.failovers = Counter(
            "chatgate_failovers_total",
            "Attempts that moved on to another key or provider config.",
            ["family", "reason"],
            registry=self.registry,
        )
        self.gateway_errors = Counter(
            "chatgate_gateway_errors_total",
            "Gateway requests that ended in an error, by error code.",
            ["code"],
            registry=self.registry,
        )
        self.usage_dropped = Counter(
            "chatgate_usage_dropped_total",
            "Usage rows dropped because the in-memory queue was full.",
            registry=self.registry,
        )
        self.chats_created = Counter(
            "chatgate_chats_created_total", "Chats created.", registry=self.registry
        )
        self.chat_replies = Counter(
            "chatgate_chat_replies_total",
            "Chat replies by final status (complete, partial, error).",
            ["status"],
            registry=self.registry,
        )
        self.chat_reply_first_token = Histogram(
            "chatgate_chat_reply_first_token_seconds",
            "Time from a chat message being posted to the reply's first text.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.chats_purged = Counter(
            "chatgate_chats_purged_total",
            "Archived chats deleted by the retention purge.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
