"""Chart functions of chapters 1-3: valid Vega-Lite, a tooltip on every mark, expected layers,
a description for screen readers, and readable log ticks."""

from __future__ import annotations

import html
import re

import altair as alt
import numpy as np
import pandas as pd
import pytest

import analysis.charts  # noqa: F401
from analysis import resources, text
from analysis.bibliography import bibliography_keys
from analysis.chapters.benchmarks import benchmarks_chapter
from analysis.chapters.compression import compression_chapter
from analysis.chapters.pretraining import pretraining_chapter, time_band
from analysis.charts import axes, benchmarks, compression, pretraining, theme
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


def _adjusted(ch1) -> pd.DataFrame:
    slope = ch1.efficiency.params["compute_slope"]
    return ch1.points.assign(glue_adjusted=ch1.points["glue"] - slope * np.log10(ch1.points["gflops"] / ch1.reference_gflops))


@pytest.fixture(scope="module")
def charts() -> dict[str, alt.TopLevelMixin]:
    ch1, ch2, ch3 = pretraining_chapter(), compression_chapter(), benchmarks_chapter()
    band = time_band(ch1.efficiency, ch1.reference_gflops, ch1.points["year"])
    return {
        "glue_vs_compute": pretraining.glue_vs_compute(ch1.points, ch1.trend),
        "residuals_by_model": pretraining.residuals_by_model(ch1.points),
        "efficiency_over_time": pretraining.efficiency_over_time(_adjusted(ch1), band, ch1.reference_gflops),
        "size_vs_score": compression.size_vs_score(ch2.points, ch2.baseline_size_mb),
        "compression_summary": compression.compression_summary(ch2.points),
        "score_vs_parameters": benchmarks.score_vs_parameters(ch3.points, ch3.trend),
        "residuals_ranked": benchmarks.residuals_ranked(ch3.points),
    }


EXPECTED_MARKS = {
    "glue_vs_compute": ["area", "line", "line", "point", "point", "point", "rule", "text"],
    "residuals_by_model": ["bar", "rule"],
    "efficiency_over_time": ["area", "line", "point", "rule", "text"],
    "size_vs_score": ["rule", "text", "line", "point", "point", "point", "rule", "text"],
    "compression_summary": ["point", "point"],
    "score_vs_parameters": ["area", "line", "point", "rule", "text"],
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
    "compression_summary": ("XTC-BERT", "GLUE points/MB"),
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
    assert text.format_power(1.23e21, unit="FLOP") == "1.2\u00a0×\u00a010²¹\u00a0FLOP"
    assert text.format_power(5.88e23, digits=3) == "5.88\u00a0×\u00a010²³"
    assert text.format_power(1e21, 1) == "10²¹" and text.format_power(-2.5e-7) == "−2.5\u00a0×\u00a010⁻⁷"
    expr = axes.si_label_expr()
    assert "'B'" in expr and "1e+09" in expr
    assert axes.power_label_expr("FLOP").endswith("+ '\u00a0FLOP'")


@pytest.mark.parametrize(("ticks", "labels"), [([1e12, 1e13, 1e14, 1e15], ["10¹²", "10¹³", "10¹⁴", "10¹⁵"]),
                                               ([1e9, 1e10, 1e11], ["1B", "10B", "100B"])])
def test_count_axis_labels_every_tick_in_one_format(ticks, labels) -> None:
    frame = pd.DataFrame({"n": ticks})
    chart = alt.Chart(frame).mark_point().encode(
        y=alt.Y("n:Q", scale=alt.Scale(type="log"), axis=alt.Axis(values=ticks, labelExpr=axes.count_label_expr(ticks))))
    drawn = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", chart_svg(chart.to_dict()))]
    assert [t for t in drawn if t != "n"] == labels


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
    assert text.format_scientific(1.234e-4, 3) == "1.23\u00a0\u00d7\u00a010\u207b\u2074"
    assert text.format_scientific(-2.5e7, 2) == "\u22122.5\u00a0\u00d7\u00a010\u2077"


def _legend_fields(spec: dict) -> dict[str, str]:
    """Encoding field -> legend title, for every colour/shape legend of a spec."""
    found = {}
    for view in _marks(spec):
        for channel in ("color", "shape"):
            encoding = view.get("encoding", {}).get(channel)
            if isinstance(encoding, dict) and "field" in encoding and encoding.get("legend") is not None:
                found[encoding["field"]] = encoding.get("title", "")
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED_MARKS))
def test_every_legend_that_says_it_highlights_does(charts, name) -> None:
    spec = charts[name].to_dict()
    params = [p for view in [spec, *_marks(spec)] for p in view.get("params", [])]
    conditions = str([view.get("encoding", {}).get("opacity") for view in _marks(spec)])
    for field, title in _legend_fields(spec).items():
        if "highlight" not in str(title):
            continue
        bound = [p for p in params if p.get("bind") == "legend" and p.get("select", {}).get("fields") == [field]]
        assert bound, f"{name}: legend {title!r} promises a highlight but no legend-bound selection on {field}"
        assert bound[0]["name"] in conditions, f"{name}: the selection {bound[0]['name']} changes no mark"


def test_release_date_legend_labels_every_year(charts) -> None:
    ch1 = pretraining_chapter()
    years = set(range(ch1.first_year, ch1.last_year + 1))
    for name in ("glue_vs_compute", "residuals_by_model"):
        spec = charts[name].to_dict()
        colours = [v["encoding"]["color"] for v in _marks(spec)
                   if v.get("encoding", {}).get("color", {}).get("field") == "release_date"]
        assert {value["year"] for value in colours[0]["legend"]["values"]} == years
        low, high = colours[0]["scale"]["domain"]
        assert low <= f"{ch1.first_year}-02" and high >= f"{ch1.last_year}-06"  # every labelled 1 January inside


def test_time_trend_is_a_straight_line_in_time() -> None:
    """Figure 1.3's fitted trend: the fit is linear in the release date, so equal steps in time give equal steps in score."""
    ch1 = pretraining_chapter()
    band = time_band(ch1.efficiency, ch1.reference_gflops, ch1.points["year"])
    seconds = band["release_date"].astype("datetime64[ns]").astype("int64").to_numpy() / 1e9
    slope_per_second = np.diff(band["fit"].to_numpy()) / np.diff(seconds)
    assert np.allclose(slope_per_second, slope_per_second.mean(), rtol=1e-6)
    # and it passes through the models at the dates they are drawn at (the first of their release month)
    for _, row in ch1.points.iterrows():
        at = np.interp(pd.Timestamp(row["release_date"]).value / 1e9, seconds, band["fit"])
        assert at == pytest.approx(float(ch1.efficiency.predict(ch1.reference_gflops, row["year"])), abs=0.03)


@pytest.mark.parametrize(("name", "column"), [("glue_vs_compute", "name"), ("efficiency_over_time", "name"),
                                              ("size_vs_score", "label"), ("score_vs_parameters", "name")])
def test_every_point_is_labelled(charts, name, column) -> None:
    """Each name (each configuration label the original figure prints, in Figure 2.1) is drawn on the chart."""
    rows = [row for rows in charts[name].to_dict()["datasets"].values() for row in rows if "label_shown" in row]
    drawn = "\n".join(row["label_text"] for row in rows if row["label_shown"]).split("\n")
    wanted = [row[column] for row in rows if row[column]]
    assert sorted(drawn) == sorted(wanted)


def _luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = [int(colour[k:k + 2], 16) / 255 for k in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_frontier_ring_and_labels_in_the_compression_chart(charts) -> None:
    spec = charts["size_vs_score"].to_dict()
    colours = [v["encoding"]["color"]["scale"]["range"] for v in _marks(spec) if "color" in v.get("encoding", {})]
    methods = colours[0]
    assert theme.FRONTIER_COLOR not in methods  # no method shares the frontier's colour
    ch2 = compression_chapter()
    assert len(methods) == ch2.points["method_family"].nunique()
    # Each frontier point is ringed: a white halo, then a ring no method colour resembles (near-black, set off by
    # strong contrast from every lighter method colour and by the halo from the darkest), both beyond the point.
    dots = next(v for v in _marks(spec) if _mark_type(v) == "point" and "shape" in v["encoding"])
    halo, ring = [v["mark"] for v in _marks(spec) if _mark_type(v) == "point" and v["mark"].get("filled") is False]
    assert halo["color"] == "white" and ring["color"] == theme.FRONTIER_RING_COLOR not in methods
    assert dots["mark"]["size"] < halo["size"] < ring["size"]
    for colour in methods:
        assert _contrast(ring["color"], colour) >= 3 or _contrast("#ffffff", colour) >= 3, colour
    assert _contrast(ring["color"], "#E69F00") >= 7  # BinaryBERT's orange, which the vermilion ring sank into


def test_chapter_3_draws_the_papers_model_in_its_own_colour(charts) -> None:
    spec = charts["score_vs_parameters"].to_dict()
    colour = next(v["encoding"]["color"] for v in _marks(spec) if "color" in v.get("encoding", {}))
    featured = benchmarks_chapter().points.query("featured")["family_group"].iloc[0]
    position = colour["scale"]["domain"].index(featured)
    assert colour["scale"]["range"][position] == benchmarks.FEATURED_COLOR != theme.OTHER_COLOR


@pytest.mark.parametrize("name", sorted(EXPECTED_MARKS))
def test_no_tooltip_shows_a_bibliography_key(charts, name) -> None:
    keys = bibliography_keys(resources.bibliography())
    spec = charts[name].to_dict()
    fields = {t["field"] for view in _marks(spec) for t in view.get("encoding", {}).get("tooltip", []) if isinstance(t, dict)}
    shown = {str(row[f]) for rows in spec["datasets"].values() for row in rows for f in fields if f in row}
    assert not shown & keys
