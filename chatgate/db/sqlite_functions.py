"""SQL functions SQLite lacks, registered on every SQLite connection (``db.engine``).

``chatgate_median(x)``: the median of the non-null values of a group, interpolated between
the two middle values for an even count — PostgreSQL's ``percentile_cont(0.5) WITHIN GROUP
(ORDER BY x)``, so ``GET /api/v1/usage`` answers the same on both databases. An aggregate
run in one pass with the other totals is several times faster than ranking rows with
window functions (measured by ``bench/usage_reads.py``).
"""

from __future__ import annotations

from typing import Any

MEDIAN = "chatgate_median"


class Median:
    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self._values.append(value)

    def finalize(self) -> float | None:
        values = self._values
        if not values:
            return None
        values.sort()
        middle = len(values) // 2
        if len(values) % 2:
            return float(values[middle])
        return (values[middle - 1] + values[middle]) / 2.0


def register(aiosqlite_connection: Any) -> Any:
    """An awaitable registering the functions on an aiosqlite connection, run on its
    thread: the sqlite3 connection is only touched there. aiosqlite exposes no
    ``create_aggregate``, so its queue (``_execute``) and raw connection are used."""
    connection = aiosqlite_connection

    def on_thread() -> None:
        connection._conn.create_aggregate(MEDIAN, 1, Median)

    return connection._execute(on_thread)
