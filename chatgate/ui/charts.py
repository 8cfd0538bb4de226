"""Line charts drawn on the server as SVG geometry (no chart library, no script).

``line_chart`` turns per-day values into coordinates; ``templates/_chart.html`` draws them
with autoescaping, so every label (a provider config's or model's name) shows as text.
Pure functions over plain data: the page loads the numbers, this module only places them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 240
# Room for the y labels on the left, the day labels below and half the last day label (it
# is centred on the last point) on the right.
LEFT, RIGHT, TOP, BOTTOM = 48, 24, 12, 28
# Series beyond this many are summed into one "other" line, so the colours stay distinct.
MAX_SERIES = 6
Y_TICKS = 4


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    label: str  # what a pointer (or a screen reader, through <title>) is told


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    css_class: str  # series-0 … series-6: colours come from ui.css (light and dark)
    points: tuple[Point, ...]
    total: int

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True, slots=True)
class LineChart:
    title: str
    description: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    series: tuple[Series, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]

    @property
    def empty(self) -> bool:
        return not self.series


def _nice_ceiling(value: int) -> int:
    """The top of the y axis: ``Y_TICKS`` steps of 1, 2 or 5 times a power of ten, the
    smallest reaching ``value``, so every tick is a round number."""
    value = max(value, Y_TICKS)
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step * Y_TICKS >= value:
                return factor * step * Y_TICKS
        step *= 10


def _merge_tail(named: Sequence[tuple[str, Sequence[int]]]) -> list[tuple[str, list[int]]]:
    """The busiest series first; those past ``MAX_SERIES`` summed into "other"."""
    ranked = sorted(named, key=lambda item: (-sum(item[1]), item[0]))
    kept = [(name, list(values)) for name, values in ranked[:MAX_SERIES]]
    rest = ranked[MAX_SERIES:]
    if rest:
        summed = [sum(values[i] for _, values in rest) for i in range(len(rest[0][1]))]
        kept.append((f"{len(rest)} others", summed))
    return kept


def line_chart(
    title: str, unit: str, days: Sequence[str], named: Sequence[tuple[str, Sequence[int]]]
) -> LineChart:
    """One line per named series over ``days`` (labels such as ``12-06``); each series has
    one value per day."""
    if any(len(values) != len(days) for _, values in named):
        raise ValueError("every series needs one value per day")
    kept = _merge_tail([item for item in named if sum(item[1]) > 0])
    top = _nice_ceiling(max((max(values) for _, values in kept), default=0))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x_of(index: int) -> float:
        return LEFT + (plot_w / 2 if len(days) == 1 else plot_w * index / (len(days) - 1))

    def y_of(value: int) -> float:
        return TOP + plot_h - plot_h * value / top

    series = tuple(
        Series(
            name=name,
            css_class=f"series-{i}",
            points=tuple(
                Point(x_of(d), y_of(v), f"{name}, {days[d]}: {v} {unit}")
                for d, v in enumerate(values)
            ),
            total=sum(values),
        )
        for i, (name, values) in enumerate(kept)
    )
    # At most about eight day labels, so they never overlap; counted back from the last
    # day, which is always labelled (it is usually today).
    every = max(1, -(-len(days) // 8))
    last = len(days) - 1
    x_ticks = tuple(Tick(x_of(i), day) for i, day in enumerate(days) if (last - i) % every == 0)
    y_ticks = tuple(
        Tick(y_of(top * i // Y_TICKS), str(top * i // Y_TICKS)) for i in range(Y_TICKS + 1)
    )
    totals = ", ".join(f"{s.name}: {s.total}" for s in series) or "nothing recorded"
    description = f"{title}, {unit} per day from {days[0]} to {days[-1]}. Totals: {totals}."
    return LineChart(
        title=title,
        description=description,
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_top=TOP,
        plot_bottom=HEIGHT - BOTTOM,
        series=series,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
    )
