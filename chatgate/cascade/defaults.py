"""The default-model rule (SPEC §4), pure: which live model should be the default.

At most one live default; zero only when no live model exists. When the default goes
(un-defaulted or deleted), another live model is promoted: enabled models first, then
disabled, each in the order family, model, updated_at descending, id descending.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chatgate.families import FAMILY_ORDER


class DefaultCandidate(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def family(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def is_default(self) -> bool: ...
    @property
    def updated_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """The fields the default rule looks at (built from rows or plans)."""

    id: uuid.UUID
    family: str
    model: str
    enabled: bool
    is_default: bool
    updated_at: datetime


def summarize(models: Iterable[DefaultCandidate]) -> tuple[ModelSummary, ...]:
    return tuple(
        ModelSummary(m.id, m.family, m.model, m.enabled, m.is_default, m.updated_at) for m in models
    )


class _Descending:
    """Wraps a value so that sorting ascending orders it descending."""

    __slots__ = ("value",)

    def __init__(self, value: datetime | uuid.UUID) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.value < self.value)  # type: ignore[operator]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


def promotion_key(model: DefaultCandidate) -> tuple[int, int, str, _Descending, _Descending]:
    return (
        0 if model.enabled else 1,
        FAMILY_ORDER.get(model.family, len(FAMILY_ORDER)),
        model.model,
        _Descending(model.updated_at),
        _Descending(model.id),
    )


def promotion_order(models: Iterable[DefaultCandidate]) -> list[DefaultCandidate]:
    """A new list in promotion order."""
    return sorted(models, key=promotion_key)


def choose_default(
    live: Sequence[DefaultCandidate], *, demoted: uuid.UUID | None = None
) -> uuid.UUID | None:
    """The id that should be the live default.

    ``live`` are the live models after the change. The current default stays; otherwise
    the first in promotion order other than ``demoted`` (a model just un-defaulted), and
    ``demoted`` itself when it is the only live model (un-defaulting it is accepted but it
    stays the default). ``None`` only when there is no live model.
    """
    current = [m for m in live if m.is_default and m.id != demoted]
    if current:
        return current[0].id
    others = [m for m in live if m.id != demoted]
    if others:
        return promotion_order(others)[0].id
    return live[0].id if live else None
