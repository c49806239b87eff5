"""Chart functions of chapters 1-3: valid Vega-Lite, a tooltip on every mark, expected layers,
a description for screen readers, and readable log ticks."""

from __future__ import annotations

import html
import re

import altair as alt
import numpy as np
import pytest

import analysis.charts  # noqa: F401
from analysis import text
from analysis.chapters.benchmarks import benchmarks_chapter
from analysis.chapters.compression import compression_chapter
from analysis.chapters.pretraining import pretraining_chapter
from analysis.charts import axes, benchmarks, compression, pretraining
from analysis.charts.layers import Axis, place_labels, step_polyline
from analysis.charts.renderer import chart_svg


def _marks(spec: dict) -> list[dict]:
    """Every unit view (a dict with a ``mark``) of a spec, depth-first."""
    found = []
    if "mark" in spec:
        found.append(spec)
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            found.extend(_marks(child))
    return found


def _mark_type(view: dict) -> str:
    mark = view["mark"]
    return mark["type"] if isinstance(mark, dict) else mark


@pytest.fixture(scope="module")
def charts() -> dict[str, alt.TopLevelMixin]:
    ch1, ch2, ch3 = pretraining_chapter(), compression_chapter(), benchmarks_chapter()
    return {
        "glue_vs_compute": pretraining.glue_vs_compute(ch1.points, ch1.curve),
        "residuals_by_model": pretraining.residuals_by_model(ch1.points),
        "efficiency_over_time": pretraining.efficiency_over_time(ch1.adjusted, ch1.time_curve, ch1.reference_gflops),
        "size_vs_score": compression.size_vs_score(ch2.points, ch2.baseline_size_mb),
        "compression_summary": compression.compression_summary(ch2.points),
        "score_vs_parameters": benchmarks.score_vs_parameters(ch3.points, ch3.curve),
        "residuals_ranked": benchmarks.residuals_ranked(ch3.points),
    }


EXPECTED_MARKS = {
    "glue_vs_compute": ["area", "line", "line", "point", "text"],
    "residuals_by_model": ["bar", "rule"],
    "efficiency_over_time": ["area", "line", "point", "text"],
    "size_vs_score": ["rule", "text", "line", "point", "text"],
    "compression_summary": ["point", "point"],
    "score_vs_parameters": ["area", "line", "point", "text"],
    "residuals_ranked": ["bar", "rule"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_MARKS))
def test_spec_is_valid_with_tooltips_layers_and_description(charts, name) -> None:
    spec = charts[name].to_dict(validate=True)
    views = _marks(spec)
    assert [_mark_type(v) for v in views] == EXPECTED_MARKS[name]
    for view in views:
        assert "tooltip" in view.get("encoding", {}), f"{name}: a {_mark_type(view)} mark has no tooltip"
    assert len(spec["description"]) > 60


@pytest.mark.parametrize("name", ["glue_vs_compute", "size_vs_score", "score_vs_parameters"])
def test_scatter_charts_have_legend_highlight_and_zoom(charts, name) -> None:
    spec = charts[name].to_dict()
    params = spec.get("params", []) + [p for view in _marks(spec) for p in view.get("params", [])]
    binds = {str(p.get("bind")) for p in params}
    assert "legend" in binds and "scales" in binds


SVG_TEXT = {
    "glue_vs_compute": ("ELECTRA", "GLUE score"),
    "residuals_by_model": ("ELMo", "below (−) the trend"),
    "efficiency_over_time": ("GFLOPs per example (adjusted)", "Release date"),
    "size_vs_score": ("L=12", "Model size (MB"),
    "compression_summary": ("XTC-BERT", "GLUE points per MB"),
    "score_vs_parameters": ("Memory", "Non-embedding parameters"),
    "residuals_ranked": ("Gemma", "below (−) the trend"),
}
"""Per chart, a label from the data and an axis title its static SVG must show."""


@pytest.mark.parametrize("name", sorted(SVG_TEXT))
def test_static_svg_renders_every_chart(charts, name) -> None:
    svg = chart_svg(charts[name].to_dict())
    assert svg.startswith("<svg")
    drawn = " ".join(html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg))  # text on the page
    for expected in SVG_TEXT[name]:
        assert expected in drawn, f"{name}: {expected!r} not drawn"
    assert svg.count("<path") > 2  # data marks, not an empty frame


def test_labels_from_the_data_appear_with_units_in_tooltips(charts) -> None:
    spec = charts["size_vs_score"].to_dict()
    titles = {t.get("title") for view in _marks(spec) for t in view["encoding"]["tooltip"] if isinstance(t, dict)}
    assert {"Size (MB)", "Source", "Values", "Configuration"} <= titles
    data = [row for rows in spec["datasets"].values() for row in rows]
    assert any(row.get("label") == "L=12 (2-bit)" for row in data)


def test_log_ticks_and_labels() -> None:
    assert axes.log_ticks(3, 700) == [10.0, 100.0]
    assert axes.log_ticks(3, 70, (1, 2, 5)) == [5.0, 10.0, 20.0, 50.0]
    assert axes.auto_log_ticks([1.5e9, 4e10]) == [2e9, 5e9, 1e10, 2e10]
    assert text.format_si(1.3e9) == "1.3B" and text.format_si(2.4e12) == "2.4T"
    assert text.format_power(1.23e21, unit="FLOP") == "1.2e21 FLOP"
    assert text.format_power(5.88e23, digits=3) == "5.88e23"
    expr = axes.si_label_expr()
    assert "'B'" in expr and "1e+09" in expr
    assert axes.power_label_expr("FLOP").endswith("+ ' FLOP'")


def test_place_labels_avoids_overlap() -> None:
    x = np.array([10.0, 10.5, 11.0, 50.0])
    y = np.array([80.0, 80.1, 80.2, 70.0])
    labels = ["first model", "second model", "third model", "far"]
    placed = place_labels(x, y, labels, Axis((5.0, 100.0), log=True), Axis((60.0, 90.0)))
    assert len(placed) == 4 and placed["label_shown"].iloc[3]
    boxes = []
    for i, row in placed[placed["label_shown"]].iterrows():
        from analysis.charts.layers import _text_box  # the same geometry the placer used

        px = Axis((5.0, 100.0), log=True).to_unit(np.array([x[i]]))[0] * 560
        py = (1 - Axis((60.0, 90.0)).to_unit(np.array([y[i]]))[0]) * 340
        candidate = tuple(row[["label_dx", "label_dy", "label_align", "label_baseline"]])
        boxes.append(_text_box(px, py, 0.62 * 11 * len(labels[i]), candidate))
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            A, B = boxes[a], boxes[b]
            assert not (A[0] < B[2] and B[0] < A[2] and A[1] < B[3] and B[1] < A[3])


def test_place_labels_keeps_clear_of_lines() -> None:
    x_axis, y_axis = Axis((1.0, 100.0), log=True), Axis((0.0, 10.0))
    # a line through the point and along the label's first choice (to the right)
    placed = place_labels([10.0], [5.0], ["a long model name"], x_axis, y_axis, lines=[([1.0, 100.0], [5.0, 5.0])])
    row = placed.iloc[0]
    assert row["label_shown"] and row["label_baseline"] != "middle"  # moved above or below the line
    without = place_labels([10.0], [5.0], ["a long model name"], x_axis, y_axis)
    assert without.iloc[0]["label_baseline"] == "middle"


def test_step_polyline_matches_step_after() -> None:
    assert step_polyline([1, 2, 4], [5, 6, 8]) == ([1.0, 2.0, 2.0, 4.0, 4.0], [5.0, 5.0, 6.0, 6.0, 8.0])


def test_signed_and_scientific_formats_use_a_true_minus() -> None:
    assert text.format_signed(-1.234, 2) == "\u22121.2"
    assert text.format_signed(0.46, decimals=1, plus=True) == "+0.5"
    assert text.format_signed(-0.04, decimals=1, plus=True) == "0.0"  # rounds to zero: no sign
    assert text.format_scientific(1.234e-4, 3) == "1.23 \u00d7 10\u207b\u2074"
    assert text.format_scientific(-2.5e7, 2) == "\u22122.5 \u00d7 10\u2077"
