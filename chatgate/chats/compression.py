"""Fitting a chat's history into its model's context (SPEC §10), upstream only.

The size is estimated as characters ÷ 4. Over ``threshold_percent`` % of the context
limit, the oldest messages are left out until it fits — never the newest user message,
which is sent even when it alone is too large (the upstream then says so). Storage is
never touched: this only shapes the upstream request.
"""

from __future__ import annotations

from typing import Any


def estimated_tokens(content: str) -> int:
    return len(content) // 4


def fit_history(
    messages: list[tuple[str, str]], *, context_limit: int, threshold_percent: int
) -> list[dict[str, Any]]:
    """``messages`` oldest first as (role, content); returns the upstream's ``messages``."""
    budget = context_limit * threshold_percent / 100
    newest_user = max((i for i, (role, _) in enumerate(messages) if role == "user"), default=-1)
    kept = list(range(len(messages)))
    total = sum(estimated_tokens(content) for _, content in messages)
    while total > budget:
        oldest = next((i for i in kept if i != newest_user), None)
        if oldest is None:
            break
        kept.remove(oldest)
        total -= estimated_tokens(messages[oldest][1])
    return [{"role": messages[i][0], "content": messages[i][1]} for i in kept]
