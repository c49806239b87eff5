"""Chapter 4-5 chart specs: valid Vega-Lite, a tooltip on every mark, the expected layers and controls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pytest
import vl_convert
from datasets import require_epoch_runs

import analysis.charts  # noqa: F401  (theme and renderer)
from analysis.chapters import compute_optimal as co
from analysis.chapters import epoch
from analysis.chapters import parametric_loss as pl
from analysis.charts.compute_optimal import BUDGET_PARAM, compute_optimal_figure, optimal_size_chart
from analysis.charts.parametric_loss import isoflop_slices_chart, isoloss_isoflop_figure, residual_chart
from analysis.charts.renderer import static_spec
from analysis.fit.laws import ParametricLaw

N_BOOTSTRAP = 60


@pytest.fixture(scope="module")
def fits() -> epoch.EpochFits:
    require_epoch_runs()
    return epoch.epoch_fits(N_BOOTSTRAP, epoch.SEED)


def _unit_specs(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every single-view spec (one mark) inside a layered / concatenated / faceted spec."""
    if "mark" in spec:
        yield spec
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            yield from _unit_specs(child)
    if "spec" in spec:
        yield from _unit_specs(spec["spec"])


def _mark_type(unit: dict[str, Any]) -> str:
    mark = unit["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def _check_chart(chart: alt.TopLevelMixin) -> dict[str, Any]:
    spec = chart.to_dict(validate=True)  # validates against the Vega-Lite schema
    assert spec["description"] and len(spec["description"]) > 60
    units = list(_unit_specs(spec))
    assert units
    for unit in units:
        assert "tooltip" in unit.get("encoding", {}), f"no tooltip on a {_mark_type(unit)} mark"
    svg = vl_convert.vegalite_to_svg(static_spec(spec))
    assert svg.lstrip().startswith("<svg") and "NaN" not in svg
    return spec


def test_compute_optimal_figure(fits: epoch.EpochFits) -> None:
    ch4 = co.chapter_for(fits)
    spec = _check_chart(compute_optimal_figure(ch4.laws, ch4.bands, ch4.models, initial_budget=ch4.stated_budget,
                                               reference=co.PUB1, named_budgets=ch4.named_budgets))
    assert len(spec["vconcat"]) == 3  # the plot, every line relative to Approach 1, the read-out table
    marks = [_mark_type(unit) for unit in _unit_specs(spec)]
    assert marks.count("area") == 2 and marks.count("line") == 2
    params = {p["name"]: p for p in spec.get("params", [])}
    selector = params[BUDGET_PARAM]
    # the budget menu offers budgets in FLOP, labelled as the book writes them, and starts at Gopher's stated budget
    assert selector["bind"]["input"] == "select" and selector["value"] == 5.76e23
    labels = dict(zip(selector["bind"]["options"], selector["bind"]["labels"], strict=True))
    assert labels[5.76e23] == "5.76\u00a0×\u00a010²³\u00a0FLOP: Gopher and Chinchilla, as stated"
    assert labels[1e21] == "10²¹\u00a0FLOP" and labels[3e24] == "3\u00a0×\u00a010²⁴\u00a0FLOP"
    assert not any("e+" in label or "e2" in label for label in labels.values())
    assert not any("bind" in p for p in static_spec(spec).get("params", []))
    # every law is drawn in both panels, with its source in the tooltip data
    line_values = {row["law"] for data in _datasets(spec) for row in data if "law" in row and "ratio_label" in row}
    assert line_values == set(ch4.laws["law"])


def _datasets(spec: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return list(spec.get("datasets", {}).values())


def test_optimal_size_chart_log_axes_and_models(fits: epoch.EpochFits) -> None:
    ch4 = co.chapter_for(fits)
    spec = optimal_size_chart(ch4.laws, ch4.bands, ch4.models).to_dict()
    encodings = [unit["encoding"] for unit in _unit_specs(spec) if "x" in unit["encoding"]]
    assert all(e["x"]["scale"]["type"] == "log" for e in encodings)
    axis = next(e["y"]["axis"] for e in encodings if "axis" in e.get("y", {}))
    assert axis["values"][:3] == [1e7, 1e8, 1e9] and "'B'" in axis["labelExpr"]
    rows = [row for data in _datasets(spec) for row in data if row.get("name") in set(ch4.models["name"])]
    assert {row["name"] for row in rows} == set(ch4.models["name"])
    gopher = next(row for row in rows if row["model_id"] == "gopher")
    assert gopher["C"] == pytest.approx(6 * 280e9 * 300e9)
    assert gopher["C_label"] == "5.04\u00a0×\u00a010²³\u00a0FLOP" and gopher["stated_label"] == "5.76\u00a0×\u00a010²³\u00a0FLOP"
    # the stars are drawn after every line, rule and marker, so nothing covers them
    marks = [_mark_type(unit) for unit in _unit_specs(spec)]
    star = next(i for i, unit in enumerate(_unit_specs(spec)) if isinstance(unit["mark"], dict)
                and unit["mark"].get("shape", "").startswith("M0,-1"))
    assert all(mark == "text" for mark in marks[star + 1:])


def test_isoloss_isoflop_figure_shares_the_slice_selection(fits: epoch.EpochFits) -> None:
    markers = pl.marked_model()
    spec = _check_chart(isoloss_isoflop_figure(fits.runs, fits.parametric.law, markers, source=epoch.RUNS_SOURCE))
    assert len(spec["hconcat"]) == 2
    selections = [p for p in spec.get("params", []) if p.get("select")]
    assert [p["name"] for p in selections] == ["slice"]
    assert selections[0]["select"]["fields"] == ["budget"] and selections[0]["select"]["on"] == "click"
    spec_text = json.dumps(spec["hconcat"])
    for panel in spec["hconcat"]:
        assert '"param": "slice"' in json.dumps(panel), "each panel reacts to the slice selection"
    assert "Gopher" in spec_text
    left_marks = [_mark_type(u) for u in _unit_specs(spec["hconcat"][0])]
    assert left_marks.count("line") == 2 and "rule" in left_marks and "point" in left_marks  # contours, frontier
    assert left_marks.count("text") >= 2  # contour labels (halo and text)


def test_figure_5_1_has_colour_bars_and_labelled_contours(fits: epoch.EpochFits) -> None:
    spec = isoloss_isoflop_figure(fits.runs, fits.parametric.law, pl.marked_model(), source=epoch.RUNS_SOURCE).to_dict()
    legends = _vega_legends(spec)
    # one colour bar per panel (a gradient legend, not symbols), each spanning its whole colour domain
    assert len(legends) == 2 and all(legend.get("type", "gradient") == "gradient" and "fill" in legend
                                     and "stroke" not in legend and "size" not in legend for legend in legends)
    loss_bar, budget_bar = legends
    assert loss_bar["title"].startswith("Loss") and budget_bar["title"].startswith("IsoFLOP budget")
    units = list(_unit_specs(spec["hconcat"][0]))
    fill = next(u["encoding"]["fill"] for u in units if "fill" in u.get("encoding", {}))
    domain = fill["scale"]["domain"]
    assert domain[0] <= fits.runs["loss"].min() and domain[1] >= fits.runs["loss"].max()
    labels = next(u for u in units if _mark_type(u) == "text" and u["encoding"].get("text", {}).get("field") == "text")
    contour_labels = [row for data in _datasets(spec) for row in data if "text" in row and "level" in row]
    assert len(contour_labels) >= 5 and all(row["text"] == f"{row['level']:.2f}" for row in contour_labels)
    assert labels["mark"]["type"] == "text"
    # the right panel: budget colours on a log scale over the slices, and no run on the frame
    right = list(_unit_specs(spec["hconcat"][1]))
    budget_fill = next(u["encoding"]["fill"] for u in right if "fill" in u.get("encoding", {}))
    assert budget_fill["scale"]["type"] == "log" and budget_fill["field"] == "budget"
    y_domain = next(u["encoding"]["y"]["scale"]["domain"] for u in right if "scale" in u["encoding"].get("y", {}))
    assert y_domain[1] >= 1.04 * fits.runs.dropna(subset=["budget"])["loss"].max()


def _vega_legends(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every legend of the compiled Vega spec."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.extend(node.get("legends", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(vl_convert.vegalite_to_vega(static_spec(spec)))
    return found


def test_isoflop_slices_mark_gopher_at_its_size(fits: epoch.EpochFits) -> None:
    spec = isoflop_slices_chart(fits.runs, fits.parametric.law, pl.marked_model(), source=epoch.RUNS_SOURCE).to_dict()
    stars = [row for data in _datasets(spec) for row in data if row.get("name") == "Gopher" and "value_kind" in row]
    assert len(stars) == 1 and stars[0]["N"] == 280e9 and stars[0]["C"] == 5.76e23
    optimum = [row for data in _datasets(spec) for row in data if row.get("name") == "Gopher" and "value_kind" not in row
               and "C_label" in row and row.get("N_label", "").endswith("parameters") and "loss" in row]
    assert any(row["N"] == pytest.approx(pl.chapter_for(fits).gopher_slice["N_opt"]) for row in optimum)


def test_residual_chart(fits: epoch.EpochFits) -> None:
    spec = _check_chart(residual_chart(pl.chapter_for(fits).residuals))
    assert spec["facet"]["field"] == "fit" and spec["columns"] == 2
    assert [_mark_type(u) for u in _unit_specs(spec)] == ["rule", "point"]


def test_charts_take_generic_runs() -> None:
    """The chapter 5 charts work on any runs table (as ``atlas report`` uses them), not only Chinchilla's."""
    params = {"E": 2.0, "A": 300.0, "B": 900.0, "alpha": 0.3, "beta": 0.3}
    rows = []
    for budget in (1e17, 1e18):
        for n in (2e7, 5e7, 1e8, 2e8):
            d = budget / (6 * n)
            rows.append({"N": n, "D": d, "C": budget, "budget": budget,
                         "loss": 2.0 + 300 / n**0.3 + 900 / d**0.3})
    runs = pd.DataFrame(rows)
    markers = pd.DataFrame({"name": ["Mine"], "N": [1e9], "C": [1e20], "source": ["user"], "value_kind": ["exact"]})
    _check_chart(isoloss_isoflop_figure(runs, ParametricLaw.from_params(params), markers, source="user runs"))


def test_model_names_next_to_their_star_and_clear_of_each_other(fits: epoch.EpochFits) -> None:
    # The stars sit between Kaplan et al.'s line and Hoffmann et al.'s, a few pixels from both, so a name
    # clear of every line would need a leader across one; names sit beside their star instead, across a
    # line where they must (drawn with a white halo), never on another star or name, and without leaders.
    from analysis.charts.compute_optimal import CHART_WIDTH, MODEL_LABEL_SIZE, law_lines, model_label_positions
    from analysis.charts.theme import HEIGHT

    ch4 = co.chapter_for(fits)
    laws, models = ch4.laws, ch4.models
    c_range, n_range, width, height = (1e17, 1e26), (1e7, 1e13), CHART_WIDTH, HEIGHT - 20
    lines = [(group["C"], group["N"]) for _, group in law_lines(laws, c_range).groupby("law")]
    placed = model_label_positions(models, lines, c_range, n_range)
    x_decade, y_decade = width / 9, height / 6
    assert not placed["leader"].any()
    stars = [(np.log10(c) * x_decade, np.log10(n) * y_decade) for c, n in zip(models["C"], models["N"])]
    boxes = []
    for label, star, row in zip(models["label"], stars, placed.itertuples()):
        text_w, text_h = 0.62 * MODEL_LABEL_SIZE * len(label), MODEL_LABEL_SIZE + 1  # pixels
        left = np.log10(row.label_C) * x_decade - {"left": 0, "center": text_w / 2, "right": text_w}[row.label_align]
        bottom = np.log10(row.label_N) * y_decade - {"bottom": 0, "middle": text_h / 2, "top": text_h}[row.label_baseline]
        box = (left, bottom, left + text_w, bottom + text_h)
        boxes.append(box)
        assert 17 * x_decade <= box[0] and box[2] <= 26 * x_decade and 7 * y_decade <= box[1] and box[3] <= 13 * y_decade
        nearest = np.hypot(max(box[0] - star[0], 0, star[0] - box[2]), max(box[1] - star[1], 0, star[1] - box[3]))
        assert nearest < 20, f"{label} is not beside its star"
        others = [np.hypot(max(box[0] - x, 0, x - box[2]), max(box[1] - y, 0, y - box[3])) for x, y in stars if (x, y) != star]
        assert nearest < min(others), f"{label} is nearer another star than its own"
        for other in stars:  # no name covers a star
            assert not (box[0] - 6 < other[0] < box[2] + 6 and box[1] - 6 < other[1] < box[3] + 6), label
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            A, B = boxes[a], boxes[b]
            assert not (A[0] < B[2] and B[0] < A[2] and A[1] < B[3] and B[1] < A[3])
    spec = optimal_size_chart(laws, ch4.bands, models).to_dict()
    halos = [u for u in _unit_specs(spec) if _mark_type(u) == "text" and u["mark"].get("stroke") == "white"]
    assert halos and halos[0]["encoding"]["text"]["field"] == "label"
