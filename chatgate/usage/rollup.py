"""Usage rollups: totals per hour and per day for each grouping of ``GET /api/v1/usage``,
so a month is read from a few thousand rows instead of a million. Pure: no I/O here.

A rollup row holds, for one period (an hour or a UTC day) and one group (a user, a model
config, a provider config, or a key as ``source|key_id``), the additive totals of that
group's usage rows and a histogram of their attempts' latencies.

- ``attempts``, ``errors`` and tokens add up exactly.
- ``requests`` counts, in each group, the first row of each request in that group: its
  first attempt (or its refusal) for users and models, the first attempt on that config or
  key for the others. Added up over a window that equals the number of distinct requests
  of the group, as the raw query counts them, except for a request whose attempts
  straddle the window's edge (it counts where its first row falls).
- ``p50_latency_ms`` over rollups comes from the histogram: log-spaced buckets
  ``HISTOGRAM_RATIO`` wide, each read as its geometric middle, so the median is within
  about 1 % of the exact one (``docs/usage-rollups.md``).
"""

from __future__ import annotations

import math
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

HOUR = "hour"
DAY = "day"
GROUP_KINDS = ("user", "model", "provider_config", "key")
HISTOGRAM_RATIO = 1.02
# Requests whose later attempts may still come (a request's attempts are recorded within
# its deadline, seconds apart); older ones are forgotten.
REMEMBERED_REQUESTS = 20_000
_LOG_RATIO = math.log(HISTOGRAM_RATIO)
ZERO_BUCKET = "z"  # latencies of 0 ms (or less): no logarithm


class UsageLike(Protocol):
    """The fields of a usage row the rollups read (``UsageRow`` and raw rows alike)."""

    @property
    def request_id(self) -> str: ...
    @property
    def user_id(self) -> uuid.UUID | None: ...
    @property
    def model_config_id(self) -> uuid.UUID | None: ...
    @property
    def provider_config_id(self) -> uuid.UUID | None: ...
    @property
    def key_id(self) -> uuid.UUID | None: ...
    @property
    def key_source(self) -> str | None: ...
    @property
    def error_class(self) -> str | None: ...
    @property
    def attempt(self) -> int: ...
    @property
    def latency_ms(self) -> float: ...
    @property
    def input_tokens(self) -> int | None: ...
    @property
    def output_tokens(self) -> int | None: ...
    @property
    def created_at(self) -> datetime: ...


# -- periods -------------------------------------------------------------------------------


def floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(at: datetime) -> datetime:
    floor = floor_hour(at)
    return floor if floor == at else floor + timedelta(hours=1)


def floor_day(at: datetime) -> datetime:
    return floor_hour(at).replace(hour=0)


def ceil_day(at: datetime) -> datetime:
    floor = floor_day(at)
    return floor if floor == at else floor + timedelta(days=1)


# -- groups --------------------------------------------------------------------------------


def group_key(kind: str, row: UsageLike) -> str:
    """The text a group is stored under (``""`` for a missing id)."""
    if kind == "user":
        return _text(row.user_id)
    if kind == "model":
        return _text(row.model_config_id)
    if kind == "provider_config":
        return _text(row.provider_config_id)
    return f"{row.key_source or ''}|{_text(row.key_id)}"


def group_values(kind: str, key: str) -> tuple[Any, ...]:
    """The inverse of ``group_key``: the group's values as the raw query returns them."""
    if kind == "key":
        source, _, key_id = key.partition("|")
        return (source or None, _uuid(key_id))
    return (_uuid(key),)


def _text(value: uuid.UUID | None) -> str:
    return "" if value is None else str(value)


def _uuid(value: str) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


# -- latency histogram ---------------------------------------------------------------------


def latency_bucket(latency_ms: float) -> str:
    if not latency_ms > 0:
        return ZERO_BUCKET
    return str(math.floor(math.log(latency_ms) / _LOG_RATIO))


def bucket_value(bucket: str) -> float:
    """The value a bucket stands for: the geometric middle of its bounds."""
    if bucket == ZERO_BUCKET:
        return 0.0
    return round(math.exp((int(bucket) + 0.5) * _LOG_RATIO), 3)


def _bucket_order(bucket: str) -> float:
    return -math.inf if bucket == ZERO_BUCKET else int(bucket)


def histogram_median(histogram: Mapping[str, int]) -> float | None:
    """The median the histogram stands for; for an even count the mean of the two middle
    values, as the exact median is computed. ``None`` when empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    ordered = sorted(histogram, key=_bucket_order)
    low = _value_at_rank(histogram, ordered, (total + 1) // 2)
    if total % 2:
        return low
    return (low + _value_at_rank(histogram, ordered, total // 2 + 1)) / 2


def _value_at_rank(histogram: Mapping[str, int], ordered: list[str], rank: int) -> float:
    """The value of the ``rank``-th smallest attempt (1-based)."""
    seen = 0
    for bucket in ordered:
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_value(bucket)
    return bucket_value(ordered[-1])


# -- tallies -------------------------------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    attempts: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    histogram: dict[str, int] = field(default_factory=dict)

    def add(
        self, *, first_of_request: bool, bucket: str | None, error: bool, tokens: tuple[int, int]
    ) -> None:
        """One usage row: ``bucket`` is its latency bucket, None for a refusal (no attempt)."""
        self.requests += 1 if first_of_request else 0
        if bucket is not None:
            self.attempts += 1
            self.histogram[bucket] = self.histogram.get(bucket, 0) + 1
        self.errors += 1 if error else 0
        self.input_tokens += tokens[0]
        self.output_tokens += tokens[1]

    def merge(self, other: Tally) -> None:
        self.requests += other.requests
        self.attempts += other.attempts
        self.errors += other.errors
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        for bucket, count in other.histogram.items():
            self.histogram[bucket] = self.histogram.get(bucket, 0) + count


RollupKey = tuple[str, datetime, str, str]  # period, period start, group kind, group key


class RequestMemory:
    """Which groups each recent request was already counted in, so a request that fails
    over counts once per group. Bounded: the oldest requests are forgotten first."""

    def __init__(self, limit: int = REMEMBERED_REQUESTS) -> None:
        self._limit = limit
        self._seen: OrderedDict[str, set[tuple[str, str]]] = OrderedDict()

    def first_in_group(self, row: UsageLike, kind: str, key: str) -> bool:
        if kind in ("user", "model"):
            # Every attempt of a request has its user and model: the first row counts.
            return row.attempt <= 1
        seen = self._seen.get(row.request_id)
        if seen is None:
            seen = self._seen[row.request_id] = set()
            if len(self._seen) > self._limit:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(row.request_id)
        if (kind, key) in seen:
            return False
        seen.add((kind, key))
        return True


def tally_rows(
    rows: Iterable[UsageLike],
    memory: RequestMemory,
    *,
    kinds: tuple[str, ...] = GROUP_KINDS,
    hours: bool = True,
    into: dict[RollupKey, Tally] | None = None,
) -> dict[RollupKey, Tally]:
    """The rollup deltas of ``rows`` (in the order they were recorded): every row adds to
    its day and (with ``hours``) its hour, once per grouping of ``kinds``; added to
    ``into`` when given (and returned)."""
    tallies: dict[RollupKey, Tally] = {} if into is None else into
    for row in rows:
        hour = floor_hour(row.created_at)
        day = (DAY, hour.replace(hour=0))
        periods = ((HOUR, hour), day) if hours else (day,)
        bucket = latency_bucket(row.latency_ms) if row.attempt >= 1 else None
        error = row.error_class is not None
        tokens = (row.input_tokens or 0, row.output_tokens or 0)
        for kind in kinds:
            key = group_key(kind, row)
            first = memory.first_in_group(row, kind, key)
            for period, start in periods:
                tally = tallies.get((period, start, kind, key))
                if tally is None:
                    tally = tallies[period, start, kind, key] = Tally()
                tally.add(first_of_request=first, bucket=bucket, error=error, tokens=tokens)
    return tallies
