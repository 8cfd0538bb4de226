"""Pure rules of model configs: the default choice and options merging (SPEC §4)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from chatgate.cascade.defaults import ModelSummary, choose_default, promotion_order
from chatgate.models.options import apply_options

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def summary(n: int, family: str = "openai", model: str = "m", **fields: object) -> ModelSummary:
    values: dict[str, object] = {
        "id": uuid.UUID(int=n),
        "family": family,
        "model": model,
        "enabled": True,
        "is_default": False,
        "updated_at": T0,
    }
    values.update(fields)
    return ModelSummary(**values)  # type: ignore[arg-type]


def test_the_current_default_is_kept() -> None:
    models = [summary(1), summary(2, is_default=True)]
    assert choose_default(models) == uuid.UUID(int=2)


def test_promotion_order_is_enabled_family_model_then_newest_update_then_highest_id() -> None:
    models = [
        summary(1, enabled=False, family="anthropic"),
        summary(2, family="openai", model="a"),
        summary(3, family="google", model="z"),
        summary(4, family="google", model="b", updated_at=T0),
        summary(5, family="google", model="b", updated_at=T0 + timedelta(seconds=1)),
        summary(6, family="google", model="b", updated_at=T0 + timedelta(seconds=1)),
    ]
    order = [m.id.int for m in promotion_order(models)]
    assert order == [6, 5, 4, 3, 2, 1]
    assert [m.id.int for m in models] == [1, 2, 3, 4, 5, 6]  # the input is not reordered


def test_a_demoted_model_stays_default_only_when_it_is_alone() -> None:
    assert choose_default([summary(1)], demoted=uuid.UUID(int=1)) == uuid.UUID(int=1)
    assert choose_default([summary(1), summary(2)], demoted=uuid.UUID(int=1)) == uuid.UUID(int=2)
    assert choose_default([]) is None


def test_options_merge_under_request_values_and_are_not_mutated() -> None:
    options = {
        "temperature": 0.2,
        "max_tokens": 100,
        "extra_headers": {"x-team": "a"},
        "extra_body": {"seed": 1, "temperature": 0.9, "model": "never"},
    }
    request = {"model": "chat", "messages": [], "temperature": 1.0}
    body, headers = apply_options(request, options)
    assert body == {"seed": 1, "temperature": 1.0, "max_tokens": 100, "model": "chat",
                    "messages": []}  # fmt: skip
    assert headers == {"x-team": "a"}
    assert request == {"model": "chat", "messages": [], "temperature": 1.0}
    assert options["extra_body"] == {"seed": 1, "temperature": 0.9, "model": "never"}


def test_a_request_max_tokens_or_max_completion_tokens_suppresses_the_option() -> None:
    for field in ("max_tokens", "max_completion_tokens"):
        body, _ = apply_options({"model": "x", field: 5}, {"max_tokens": 100})
        assert body == {"model": "x", field: 5}
