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
    laws = co.all_power_laws(fits)
    gopher_c = float(epoch.notable_model("gopher")["C"])
    spec = _check_chart(compute_optimal_figure(laws, co.fitted_bands(fits), epoch.notable_models(),
                                               initial_budget=gopher_c))
    marks = [_mark_type(unit) for unit in _unit_specs(spec)]
    assert marks.count("area") == 1 and marks.count("line") == 1
    assert marks.count("rule") == 2  # leaders to model names set away from their star, the budget rule
    assert marks.count("text") == 3  # two model-label layers (halo + text) and the read-out table
    params = {p["name"]: p for p in spec.get("params", [])}
    slider = params[BUDGET_PARAM]
    assert slider["bind"]["input"] == "range" and slider["value"] == pytest.approx(23.702, abs=1e-3)
    assert not any("bind" in p for p in static_spec(spec).get("params", []))
    # every law is drawn, with its source in the tooltip data
    line_values = {row["law"] for data in _datasets(spec) for row in data if "law" in row and "N_label" in row}
    assert line_values == set(laws["law"])


def _datasets(spec: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return list(spec.get("datasets", {}).values())


def test_optimal_size_chart_log_axes_and_models(fits: epoch.EpochFits) -> None:
    models = epoch.notable_models()
    spec = optimal_size_chart(co.all_power_laws(fits), co.fitted_bands(fits), models).to_dict()
    encodings = [unit["encoding"] for unit in _unit_specs(spec) if "x" in unit["encoding"]]
    assert all(e["x"]["scale"]["type"] == "log" for e in encodings)
    axis = next(e["y"]["axis"] for e in encodings if "axis" in e.get("y", {}))
    assert axis["values"][:3] == [1e7, 1e8, 1e9] and "'B'" in axis["labelExpr"]
    rows = [row for data in _datasets(spec) for row in data if row.get("name") in set(models["name"])]
    assert {row["name"] for row in rows} == set(models["name"])
    gopher = next(row for row in rows if row["model_id"] == "gopher")
    assert gopher["C"] == pytest.approx(6 * 280e9 * 300e9) and gopher["C_label"] == "5.04e23 FLOP"


def test_isoloss_isoflop_figure_shares_the_slice_selection(fits: epoch.EpochFits) -> None:
    markers = epoch.notable_models().query("model_id == 'gopher'")
    spec = _check_chart(isoloss_isoflop_figure(fits.runs, fits.parametric.law, markers, source=epoch.RUNS_SOURCE))
    assert len(spec["hconcat"]) == 2
    selections = [p for p in spec.get("params", []) if p.get("select")]
    assert [p["name"] for p in selections] == ["slice"]
    assert selections[0]["bind"] == "legend" and selections[0]["select"]["fields"] == ["budget"]
    spec_text = json.dumps(spec["hconcat"])
    for panel in spec["hconcat"]:
        assert '"param": "slice"' in json.dumps(panel), "each panel reacts to the slice selection"
    assert "Gopher" in spec_text
    left_marks = [_mark_type(u) for u in _unit_specs(spec["hconcat"][0])]
    assert left_marks.count("line") == 2 and "rule" in left_marks and "point" in left_marks  # contours, frontier


def test_isoflop_slices_mark_gopher_at_its_size(fits: epoch.EpochFits) -> None:
    markers = epoch.notable_models().query("model_id == 'gopher'")
    spec = isoflop_slices_chart(fits.runs, fits.parametric.law, markers, source=epoch.RUNS_SOURCE).to_dict()
    stars = [row for data in _datasets(spec) for row in data if row.get("name") == "Gopher" and "value_kind" in row]
    assert len(stars) == 1 and stars[0]["N"] == 280e9
    optimum = [row for data in _datasets(spec) for row in data if row.get("name") == "Gopher" and "value_kind" not in row
               and "C_label" in row and row.get("N_label", "").endswith("parameters") and "loss" in row]
    assert any(row["N"] == pytest.approx(pl.chapter_for(fits).gopher_slice["N_opt"]) for row in optimum)


def test_residual_chart(fits: epoch.EpochFits) -> None:
    spec = _check_chart(residual_chart(pl.chapter_for(fits).residuals))
    assert spec["facet"]["column"]["field"] == "fit"
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


def test_model_names_clear_of_law_lines_and_of_each_other(fits: epoch.EpochFits) -> None:
    from analysis.charts.compute_optimal import CHART_WIDTH, MODEL_LABEL_SIZE, law_lines, model_label_positions
    from analysis.charts.theme import HEIGHT

    laws, models = co.all_power_laws(fits), epoch.notable_models()
    c_range, n_range, width, height = (1e17, 1e26), (1e7, 1e13), CHART_WIDTH, HEIGHT - 20
    lines = [(group["C"], group["N"]) for _, group in law_lines(laws, c_range).groupby("law")]
    placed = model_label_positions(models, lines, c_range, n_range)
    x_decade, y_decade = width / 9, height / 6
    boxes = []
    for name, star_C, star_N, row in zip(models["name"], models["C"], models["N"], placed.itertuples()):
        # the text box in log10 units, from the anchor and Vega's align/baseline
        text_w, text_h = 0.62 * MODEL_LABEL_SIZE * len(name) / x_decade, (MODEL_LABEL_SIZE + 1) / y_decade
        left = np.log10(row.label_C) - {"left": 0, "center": text_w / 2, "right": text_w}[row.label_align]
        bottom = np.log10(row.label_N) - {"bottom": 0, "middle": text_h / 2, "top": text_h}[row.label_baseline]
        boxes.append((left, bottom, left + text_w, bottom + text_h))
        # every law is a power law: over the box's width it spans [N(left), N(right)] in log units
        for law in laws.itertuples():
            ends = [np.log10(law.n_ref) + law.a * (c - np.log10(law.c_ref)) for c in (left, left + text_w)]
            assert max(ends) < bottom or min(ends) > bottom + text_h, f"{name} label crosses {law.law}"
        assert left >= 17 and left + text_w <= 26 and bottom >= 7 and bottom + text_h <= 13
        if row.leader:  # the leader runs from the star towards the text and stops short of it
            star_c, star_n = np.log10(star_C), np.log10(star_N)
            end_c, end_n = np.log10(row.leader_C), np.log10(row.leader_N)
            text_c, text_n = np.log10(row.label_C), np.log10(row.label_N)
            assert min(star_c, text_c) - 1e-9 <= end_c <= max(star_c, text_c) + 1e-9
            assert min(star_n, text_n) - 1e-9 <= end_n <= max(star_n, text_n) + 1e-9
            assert 0 < np.hypot(end_c - star_c, end_n - star_n) < np.hypot(text_c - star_c, text_n - star_n)
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            A, B = boxes[a], boxes[b]
            assert not (A[0] < B[2] and B[0] < A[2] and A[1] < B[3] and B[1] < A[3])
