"""The project renderer, theme and offline bundle of analysis.charts."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

import analysis.charts  # noqa: F401  (registers the theme and renderer)
from analysis.charts import bundle, renderer, theme

HOSTILE = "<script>alert(1)</script>"


def _chart() -> alt.Chart:
    frame = pd.DataFrame({"x": [1.0, 10.0, 100.0], "y": [1.0, 2.0, 3.0], "name": ["a", HOSTILE, "c"]})
    highlight = alt.selection_point(fields=["name"], bind="legend")
    return (
        alt.Chart(frame)
        .mark_point()
        .encode(x=alt.X("x", scale=alt.Scale(type="log")), y="y", color="name", tooltip=["name", "x"])
        .add_params(highlight)
        .properties(description=f"Test chart & {HOSTILE}")
    )


def test_theme_and_renderer_are_enabled_on_import() -> None:
    assert alt.theme.active == theme.THEME_NAME
    assert alt.renderers.active == renderer.RENDERER_NAME
    config = _chart().to_dict()["config"]
    assert config["range"]["category"] == list(theme.CATEGORICAL)


def test_mimebundle_has_html_and_svg() -> None:
    bundle_ = _chart()._repr_mimebundle_()
    assert set(bundle_) == {"text/html", "image/svg+xml"}
    assert bundle_["image/svg+xml"].lstrip().startswith("<svg")
    assert "<path" in bundle_["image/svg+xml"]


def test_html_escapes_data_and_description() -> None:
    page = _chart()._repr_mimebundle_()["text/html"]
    assert HOSTILE not in page
    assert "</script" not in page.split('type="application/json"')[1].split("</script>")[0]
    label = re.search(r'aria-label="([^"]*)"', page).group(1)
    assert html.unescape(label) == f"Test chart & {HOSTILE}"
    assert 'role="figure"' in page and 'class="atlas-chart"' in page
    spec_text = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', page, re.S).group(1)
    spec = json.loads(spec_text)
    assert HOSTILE in json.dumps(spec, ensure_ascii=False)  # data intact after JSON decoding
    assert '"svg"' in page and "actions: false" in page


def test_bundle_path_is_relative_to_project_root(tmp_path: Path) -> None:
    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\n")
    chapter_dir = tmp_path / "chapters"
    chapter_dir.mkdir()
    assert renderer.bundle_url(chapter_dir) == "../assets/vega/vega-bundle.js"
    assert renderer.bundle_url(tmp_path) == "assets/vega/vega-bundle.js"
    assert '"../assets/vega/vega-bundle.js"' in renderer.chart_html(_chart().to_dict(), cwd=chapter_dir)


def test_static_spec_drops_bindings_but_keeps_params() -> None:
    slider = alt.param(name="budget", value=3.0, bind=alt.binding_range(min=1, max=5, step=1))
    chart = _chart().add_params(slider, alt.selection_interval(bind="scales"))
    spec = chart.to_dict()
    static = renderer.static_spec(spec)
    assert "bind" not in json.dumps(static["params"])
    assert {p["name"] for p in static["params"]} == {p["name"] for p in spec["params"]}
    assert next(p for p in static["params"] if p["name"] == "budget")["value"] == 3.0
    assert static["config"]["axis"]["labelFontSize"] > spec["config"]["axis"]["labelFontSize"]
    assert "bind" in json.dumps(spec["params"])  # input not mutated


def test_bundle_is_deterministic_and_skipped_when_current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target, changed = bundle.write_bundle(tmp_path)
    assert changed and target == tmp_path / "assets" / "vega" / "vega-bundle.js"
    text = target.read_text()
    assert "window.vegaEmbed" in text and text.startswith("/* Scaling Atlas offline chart bundle")
    assert not re.search(r"https?://[^\s\"')]*\.(js|css)\b", text.splitlines()[0])
    calls = []
    monkeypatch.setattr(bundle, "bundle_source", lambda: calls.append(1) or "")
    assert bundle.write_bundle(tmp_path) == (target, False)
    assert calls == []
    target.write_text(text[:-10])  # truncated file is rebuilt
    monkeypatch.undo()
    assert bundle.write_bundle(tmp_path)[1] is True
    assert target.read_text() == text


def test_missing_values_give_strict_json() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, float("nan")], "note": [float("nan"), "text"]})
    chart = alt.Chart(frame).mark_point().encode(x="x", y="y", tooltip=["note:N"]).properties(description="d")
    page = renderer.chart_html(chart.to_dict())
    spec_text = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', page, re.S).group(1)
    assert "NaN" not in spec_text
    json.loads(spec_text)
