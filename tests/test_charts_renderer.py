"""The project renderer, theme and offline bundle of analysis.charts."""

from __future__ import annotations

import hashlib
import html
import json
import re
import subprocess
import sys
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


@pytest.fixture
def chapter_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A chapter folder of a book project, as the working folder (charts write to ``<root>/.atlas-charts``)."""
    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\n")
    folder = tmp_path / "chapters"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_mimebundle_is_markdown_with_the_site_chart_and_an_svg_for_other_formats(chapter_dir: Path) -> None:
    from bookengine.convert import select_format_content

    bundle_ = _chart()._repr_mimebundle_()
    assert set(bundle_) == {"text/markdown"}  # no text/html: Quarto would add CDN scripts to the page
    markdown = bundle_["text/markdown"]
    site = select_format_content(markdown, "html")
    assert site.strip().startswith("```{=html}") and '<div class="atlas-chart"' in site and "![" not in site
    [image] = re.findall(r"!\[\]\(([^)]+)\)", select_format_content(markdown, "typst"))
    assert 'class="atlas-chart"' not in select_format_content(markdown, "typst")
    svg_file = chapter_dir / image
    assert image.startswith("../.atlas-charts/") and svg_file.is_file()
    svg = svg_file.read_text()
    assert svg.lstrip().startswith("<svg") and "<path" in svg
    assert svg_file.stem == hashlib.sha256(svg.encode()).hexdigest()[:20]  # named by content: deterministic
    assert svg == renderer.chart_svg(_chart().to_dict())
    stamp = svg_file.stat().st_mtime_ns
    assert image in _chart()._repr_mimebundle_()["text/markdown"]  # same chart, same file, not rewritten
    assert svg_file.stat().st_mtime_ns == stamp and len(list(svg_file.parent.iterdir())) == 1


def test_html_escapes_data_and_description() -> None:
    page = renderer.chart_html(_chart().to_dict())
    assert HOSTILE not in page
    assert "</script" not in page.split('type="application/json"')[1].split("</script>")[0]
    label = re.search(r'aria-label="([^"]*)"', page).group(1)
    assert html.unescape(label) == f"Test chart & {HOSTILE}"
    assert 'role="figure"' in page and 'class="atlas-chart"' in page
    spec_text = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', page, re.S).group(1)
    spec = json.loads(spec_text)
    assert HOSTILE in json.dumps(spec, ensure_ascii=False)  # data intact after JSON decoding
    assert '"svg"' in page and "actions: false" in page


def test_titles_and_descriptions_get_typographic_apostrophes_but_expressions_and_data_do_not() -> None:
    frame = pd.DataFrame({"x": [1.0], "y": [2.0], "note": ["the paper's value"]})
    chart = (
        alt.Chart(frame).mark_text().transform_calculate(tag="datum.note + ' ' + 'it\\'s'")
        .encode(x=alt.X("x:Q", title="Kaplan et al.'s budget"), y="y:Q", text="note:N",
                tooltip=[alt.Tooltip("note:N", title="The slice's note")])
        .properties(description="Each slice's runs", title="Hoffmann et al.'s fit")
    )
    spec = chart.to_dict()
    page = renderer.chart_html(spec)
    assert html.unescape(re.search(r'aria-label="([^"]*)"', page).group(1)) == "Each slice’s runs"
    shown = renderer.typographic(spec)
    assert shown["encoding"]["x"]["title"] == "Kaplan et al.’s budget"
    assert shown["encoding"]["tooltip"][0]["title"] == "The slice’s note" and shown["title"] == "Hoffmann et al.’s fit"
    assert shown["transform"] == spec["transform"] and shown["datasets"] == spec["datasets"]  # expressions, data alone
    assert "Kaplan et al.’s budget" in renderer.chart_svg(spec)


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
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
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
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert bundle.write_bundle(tmp_path)[1] is True
    assert target.read_text() == text


def test_a_missing_bundle_is_copied_from_the_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every generated report needs its own bundle: the first one is built and cached, later ones copy it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    built: list[str] = []

    def build() -> str:  # a stand-in for vl-convert's second of work, complete as a bundle
        built.append(f"/* build {len(built) + 1} */\n")
        return f"{bundle.bundle_header()}(function () {{\n{built[-1]}}})();\n"

    monkeypatch.setattr(bundle, "bundle_source", build)
    first, _ = bundle.write_bundle(tmp_path / "one")
    cached = bundle.cached_bundle_path()
    assert cached is not None and cached.parent == tmp_path / "cache" / "scaling-atlas"
    assert cached.read_bytes() == first.read_bytes() and len(built) == 1
    second, changed = bundle.write_bundle(tmp_path / "two")
    assert changed and second.read_bytes() == first.read_bytes() and len(built) == 1
    cached.write_bytes(cached.read_bytes()[:-10])  # an incomplete copy in the cache is not used, but replaced
    third, _ = bundle.write_bundle(tmp_path / "three")
    assert len(built) == 2 and b"build 2" in third.read_bytes() and cached.read_bytes() == third.read_bytes()
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # ignored, as the XDG rules say
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert bundle.cached_bundle_path() == tmp_path / "home" / ".cache" / "scaling-atlas" / cached.name


def test_missing_values_give_strict_json() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, float("nan")], "note": [float("nan"), "text"]})
    chart = alt.Chart(frame).mark_point().encode(x="x", y="y", tooltip=["note:N"]).properties(description="d")
    page = renderer.chart_html(chart.to_dict())
    spec_text = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', page, re.S).group(1)
    assert "NaN" not in spec_text
    json.loads(spec_text)


def test_bundle_module_runs_as_a_plain_script_and_with_dash_m_without_warning(tmp_path: Path) -> None:
    """Quarto runs a ``.py`` pre-render script with its Python, outside the package; ``-m`` still works."""
    script = Path(bundle.__file__)
    as_script = subprocess.run([sys.executable, str(script), "--help"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)
    assert as_script.returncode == 0 and "project_dir" in as_script.stdout
    as_module = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "analysis.charts.bundle", "--help"],
                               cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert as_module.returncode == 0, as_module.stderr


@pytest.mark.browser
def test_chart_in_a_narrower_column_shrinks_and_keeps_its_legend(tmp_path: Path, browser, vega_bundle) -> None:
    """Quarto's body column beside its sidebar and table of contents is narrower than a chart;
    with no stylesheet of the project's, the loader draws the narrow variant fitted to the column
    (text at its size, legend inside) instead of cutting its legend off."""
    from browser import chart_marks, hover_until_tooltip, open_page, served

    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\n")
    (tmp_path / "assets" / "vega").mkdir(parents=True)
    (tmp_path / "assets" / "vega" / "vega-bundle.js").write_bytes(vega_bundle.read_bytes())
    chapter = tmp_path / "chapters"
    chapter.mkdir()
    fragment = renderer.chart_html(_chart().properties(width=760, height=300).to_dict(), cwd=chapter)
    (chapter / "page.html").write_text("<!doctype html><html><head><meta charset='utf-8'><title>t</title></head>"
                                       f"<body style='margin:0'><main style='width:600px'>{fragment}</main></body></html>")
    with served(tmp_path) as base:
        page, log = open_page(browser, base, viewport={"width": 1280, "height": 800})
        try:
            page.goto(base + "chapters/page.html", wait_until="load")
            assert chart_marks(page) == [3]
            page.wait_for_function("() => document.querySelector('.atlas-chart svg').style.maxWidth === '100%'")
            sizes = page.evaluate("""() => {
                const chart = document.querySelector('.atlas-chart'), svg = chart.querySelector('svg');
                const legend = svg.querySelector('.role-legend').getBoundingClientRect();
                return {drawn: Number(svg.getAttribute('width')), shown: svg.getBoundingClientRect().width,
                        scroll: chart.scrollWidth - chart.clientWidth, legendRight: legend.right};
            }""")
            assert hover_until_tooltip(page)  # hovering still finds the marks of the scaled chart
        finally:
            log.close()
    assert 500 < sizes["drawn"] <= 600 and sizes["shown"] == pytest.approx(sizes["drawn"], abs=1) and sizes["scroll"] == 0
    assert sizes["legendRight"] <= 600
    assert log.errors == [] and log.foreign == []
