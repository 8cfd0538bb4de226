"""The usage page's chart geometry (``chatgate.ui.charts``): pure functions, no browser."""

from __future__ import annotations

import pytest

from chatgate.ui.charts import HEIGHT, MAX_SERIES, line_chart
from chatgate.ui.rendering import templates

DAYS = ["12-01", "12-02", "12-03"]


def test_values_map_to_heights_and_the_axis_top_is_a_round_number() -> None:
    chart = line_chart("Requests per model", "requests", DAYS, [("chat", [0, 3, 7])])
    (series,) = chart.series
    ys = [p.y for p in series.points]
    assert ys[0] == chart.plot_bottom  # zero sits on the axis
    assert ys[2] < ys[1] < ys[0]  # more is higher
    assert [t.label for t in chart.y_ticks] == ["0", "2", "4", "6", "8"]
    assert series.points[1].label == "chat, 12-02: 3 requests"
    assert chart.description.endswith("Totals: chat: 10.")
    assert min(ys) > 0
    assert max(ys) < HEIGHT


def test_empty_series_are_left_out_and_the_busiest_come_first() -> None:
    chart = line_chart(
        "t", "requests", DAYS, [("quiet", [0, 0, 0]), ("small", [1, 0, 0]), ("big", [2, 2, 2])]
    )
    assert [s.name for s in chart.series] == ["big", "small"]
    assert [s.css_class for s in chart.series] == ["series-0", "series-1"]
    assert line_chart("t", "requests", DAYS, [("quiet", [0, 0, 0])]).empty


def test_series_beyond_the_palette_are_summed_into_others() -> None:
    named = [(f"m{i}", [i + 1, 0, 0]) for i in range(MAX_SERIES + 2)]
    chart = line_chart("t", "requests", DAYS, named)
    assert len(chart.series) == MAX_SERIES + 1
    assert chart.series[-1].name == "2 others"
    assert chart.series[-1].total == 1 + 2  # the two quietest


def test_the_last_day_is_always_labelled_and_labels_stay_few() -> None:
    days = [f"d{i}" for i in range(31)]
    chart = line_chart("t", "requests", days, [("chat", [1] * 31)])
    labels = [t.label for t in chart.x_ticks]
    assert labels[-1] == "d30"
    assert len(labels) <= 8
    single = line_chart("t", "requests", ["12-06"], [("chat", [5])])
    assert single.series[0].points[0].x == (single.plot_left + single.plot_right) / 2


def test_a_series_with_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="one value per day"):
        line_chart("t", "requests", DAYS, [("chat", [1, 2])])


def test_names_in_the_drawn_svg_are_text() -> None:
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    chart = line_chart("Requests per model", "requests", DAYS, [(hostile, [1, 2, 3])])
    macro = templates.env.get_template("_chart.html").module.line_chart  # type: ignore[attr-defined]
    svg = str(macro(chart, "chart-model"))
    assert "<script>" not in svg
    assert "<img" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert '<title id="chart-model-title">Requests per model</title>' in svg
    assert 'aria-labelledby="chart-model-title chart-model-desc"' in svg
