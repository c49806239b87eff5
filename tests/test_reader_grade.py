"""What a reader of the real book sees, on a phone and on a desktop: no e-notation in the reading
text of any page or of the PDF, every chart sized to its column with its legend in view and its
source line under it, data and image downloads, and previews of cross-references and citations.

The browser tests share the session's book (``real_book``) and Chromium (``browser``)."""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import altair as alt
import pandas as pd
import pytest
from browser import open_page, served
from pypdf import PdfReader

import analysis.charts  # noqa: F401  (theme and renderer)
from analysis import text
from analysis.charts import axes
from analysis.charts.compute_optimal import budget_options, flop_text
from analysis.charts.renderer import NARROW_WIDTH, chart_html, narrow_spec, static_spec, with_source_title
from analysis.charts.source import source_line, with_source
from analysis.tables import format_number, markdown_table
from bookengine.config import load_config

ROOT = Path(__file__).resolve().parents[1]
E_NOTATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.])")
"""``5.04e23``, ``1e+06``, ``1e17`` as a word of its own (not inside a hash or an identifier)."""
NOT_READ = re.compile(r"<(script|style|svg|math|details|pre|code)\b.*?</\1>", re.S | re.I)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1300, "height": 900}


def reading_text(page: str) -> str:
    """The text a reader reads in a page's ``<main>``: no code, folded code, scripts, specs or math markup."""
    body = page.split("<main", 1)[1].split("</main>", 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", NOT_READ.sub(" ", body)))


def chapter_pages() -> list[str]:
    return [rel.rsplit(".", 1)[0] + ".html" for rel in load_config(ROOT).chapters[1:]]


# -- numbers -----------------------------------------------------------------------------------

def test_no_e_notation_in_the_site_reading_text(real_book) -> None:
    found = {}
    for page in sorted(real_book.output.rglob("*.html")):
        hits = E_NOTATION.findall(reading_text(page.read_text(encoding="utf-8")))
        if hits:
            found[page.relative_to(real_book.output).as_posix()] = hits[:5]
    assert found == {}


def test_no_e_notation_in_the_pdf_text_charts_included(real_book) -> None:
    if shutil.which("pdftotext") is None:
        from conftest import unavailable

        unavailable("pdftotext (poppler-utils) not installed")
    pages = subprocess.run(["pdftotext", "-enc", "UTF-8", str(real_book.pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    found = {number: E_NOTATION.findall(text) for number, text in enumerate(pages, 1)}
    assert {number: hits for number, hits in found.items() if hits} == {}
    assert len(pages) >= len(PdfReader(real_book.pdf).pages)
    text = " ".join(pages)
    assert "× 10" in text and "10²¹" in text  # powers of ten are written, in prose and on the axes


def test_a_number_never_breaks_across_lines() -> None:
    """Inside a power of ten and between a number and its unit symbol every space is a no-break space, in
    each formatter that writes one (prose, tables, tooltips, the budget menu, chart text in Vega)."""
    written = {
        "number": text.number(5.04e23), "format_power": text.format_power(5.04e23, 3, "FLOP"),
        "format_scientific": text.format_scientific(-1.23e-4), "format_count": text.format_count(2e-25),
        "count": text.count(2.5e15), "power_of_ten": text.power_of_ten(3e23), "flop_text": flop_text(5.76e23),
        "budget menu": dict(budget_options({}, (1e21, 1e22)))[3e21], "table cell": format_number(1.5e21),
        "table row": markdown_table(pd.DataFrame({"C": [1.5e21]})).data.splitlines()[2].strip("| "),
    }
    for name, written_text in written.items():
        assert "\u00a0" in written_text and " " not in written_text, (name, written_text)
    for name, written_text in {"interval": text.interval((97932, 2.59e6)),
                               "count_interval": text.count_interval((9.0e14, 9.996e14))}.items():
        assert written_text.count(" ") == 2 and " – " in written_text, (name, written_text)  # a break only at the dash
    assert text.latex_number(3.1e21) == "3.10 \\times 10^{21}"
    assert f"'{text.TIMES}'" in axes.flop_expr("datum.C") and axes.flop_expr("datum.C").endswith("'\u00a0FLOP'")
    budget = text.format_power(5.04e23, 3, "FLOP")
    spec = {"mark": "point", "usermeta": {"atlas": {"source": "Data: a source of many words " * 3 + budget}}}
    assert budget in with_source_title(spec, 150)["title"]["text"]  # a source line wrapped under a chart too


# -- the renderer's variants and the source line ------------------------------------------------

def _two_panels() -> alt.HConcatChart:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, 1.0, 2.0], "group": ["a", "b", "a"],
                          "source_key": ["hoffmann2022chinchilla"] * 3, "source_detail": ["Table 3, row 1"] * 3})
    left = alt.Chart(frame).mark_point().encode(x="x:Q", y="group:N", color="group:N", tooltip=["x:Q"]).properties(width=420)
    right = alt.Chart(frame).mark_point().encode(x="y:Q", y=alt.Y("group:N", axis=None), tooltip=["y:Q"]).properties(width=380)
    return with_source(alt.hconcat(left, right), frame, fits="this book")


def test_source_line_cites_author_year_and_never_a_key() -> None:
    frame = pd.DataFrame({"source_key": ["hoffmann2022chinchilla", "besiroglu2024replication"],
                          "source_detail": ["Table 3 (projections)", "row 4 of the appendix"]})
    assert source_line(frame, fits="this book") == (
        "Data: Hoffmann et al. (2022), Table 3; Besiroglu et al. (2024). Fits: this book.")
    with pytest.raises(Exception, match="no entry for nosuchkey2099"):
        source_line(pd.DataFrame({"source_key": ["nosuchkey2099"]}))


def test_narrow_variant_stacks_panels_puts_legends_below_and_keeps_each_panels_labels() -> None:
    spec = _two_panels().to_dict()
    narrow = narrow_spec(spec)
    assert "hconcat" not in narrow and len(narrow["vconcat"]) == 2 and "datasets" not in narrow
    assert narrow["vconcat"][0]["encoding"]["color"]["legend"]["orient"] == "bottom"
    assert narrow["vconcat"][1]["encoding"]["y"]["axis"] is not None  # the stacked panel shows its own labels
    assert all(view["width"] <= NARROW_WIDTH for view in narrow["vconcat"])
    assert narrow["usermeta"]["atlas"]["widths"] == [420, 380]  # the loader widens up to these
    assert narrow["title"]["orient"] == "bottom" and "Hoffmann et al. (2022), Table 3" in " ".join(narrow["title"]["text"])
    printed = static_spec(spec)
    assert "Hoffmann et al. (2022)" in " ".join(printed["title"]["text"])  # the PDF's chart carries it too


def test_narrow_variant_draws_a_named_view_its_own_way_and_lays_out_flush_panels_by_their_bounds() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 1.0], "name": ["a", "b"]})
    plot = alt.Chart(frame).mark_point().encode(x="x:Q", y="y:Q", color="name:N", tooltip=["x:Q"])
    table = alt.Chart(frame).mark_text().encode(x=alt.value(400), y="name:N", text="name:N", tooltip=["name:N"])
    rows = alt.Chart(frame).mark_text().encode(x=alt.value(0), y="name:N", text="x:Q", tooltip=["x:Q"])
    figure = alt.vconcat(plot, table.properties(name="readout", width=420), spacing=60, bounds="flush")
    spec = with_source(figure, narrow={"replace": {"readout": rows}}).to_dict()
    narrow = narrow_spec(spec)
    assert narrow["bounds"] == "full" and "spacing" not in narrow  # the legend below the plot takes its room
    drawn = narrow["vconcat"][1]
    assert drawn["name"] == "readout" and drawn["encoding"]["x"] == {"value": 0}
    assert drawn["data"] == {"values": frame.to_dict("records")} and "config" not in drawn  # its data inline
    assert "replace" not in narrow["usermeta"]["atlas"]["narrow"]
    wide = json.loads(re.search(r'-spec">(.*?)</script>', chart_html(spec)).group(1))
    assert wide["vconcat"][1]["encoding"]["x"] == {"value": 400} and "replace" not in json.dumps(wide["usermeta"])
    with pytest.raises(ValueError, match="unknown narrow hint"):
        with_source(figure, narrow={"swap": {}})


# -- in Chromium -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base(real_book):
    with served(real_book.output) as url:
        yield url


def _charts_fitted(page) -> None:
    count = page.locator(".atlas-chart").count()
    if count:
        page.wait_for_function(f"document.querySelectorAll('.atlas-chart[data-fitted]').length === {count}",
                               timeout=20000)


KEY_LABELLED = {"fig-pretraining-scatter", "fig-pretraining-efficiency", "fig-compression-scatter",
                "fig-benchmarks-scatter", "fig-compute-optimal"}
"""Figures that keep the labels of their key points on a phone (frontier, named or featured models)."""

CHART_GEOMETRY = """() => Array.from(document.querySelectorAll('.atlas-chart')).map(chart => {
  const svg = chart.querySelector('svg'), box = svg.getBoundingClientRect();
  const scale = box.width / parseFloat(svg.getAttribute('width'));
  const legends = Array.from(svg.querySelectorAll('.role-legend')).map(l => l.getBoundingClientRect());
  const fonts = Array.from(svg.querySelectorAll('.role-axis text, .role-legend text, .role-title text'))
    .map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
  const labels = Array.from(svg.querySelectorAll('.role-axis text, .role-legend text')).map(t => t.textContent);
  const rect = node => node.getBoundingClientRect();
  const axes = Array.from(svg.querySelectorAll('.role-axis')).map(rect);  // labels, titles and grid lines
  const crowded = Array.from(svg.querySelectorAll('.role-legend')).map(rect).filter(legend => axes.some(axis =>
    Math.min(legend.right, axis.right) - Math.max(legend.left, axis.left) > 2 &&
    Math.min(legend.bottom, axis.bottom) - Math.max(legend.top, axis.top) > 2)).length;
  // the key labels a phone keeps (a halo under a name is the same box twice: counted once)
  const named = new Map(Array.from(svg.querySelectorAll('g.mark-text[class*="atlas_phone_labels"] text')).map(t => {
    const r = rect(t); return [`${t.textContent}@${Math.round(r.left)},${Math.round(r.top)}`, r]; }));
  const boxes = [...named.values()];
  const overlapping = boxes.flatMap((a, i) => boxes.slice(i + 1).filter(b =>
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1));
  const figure = chart.closest("[id^='fig-']");
  return {variant: chart.getAttribute('data-fitted'), left: box.left, right: box.right, scale, crowded,
          figure: figure ? figure.id : '', keyLabels: [...named.keys()], overlappingLabels: overlapping.length,
          column: chart.parentElement.getBoundingClientRect().right,
          legendLeft: Math.min(...legends.map(l => l.left), box.left), legendRight: Math.max(...legends.map(l => l.right), 0),
          smallest: Math.min(...fonts), labels, sources: Array.from(svg.querySelectorAll('.role-title')).map(t => t.textContent),
          tools: chart.nextElementSibling ? chart.nextElementSibling.querySelectorAll('button[data-format]').length : 0};
})"""


def test_on_a_phone_every_chart_fits_with_its_legend_and_no_page_scrolls_sideways(real_book, base, browser) -> None:
    page, log = open_page(browser, base, viewport=PHONE, is_mobile=True, has_touch=True)
    too_small, labelled = set(), set()
    try:
        for name in [*chapter_pages(), "appendices/data.html"]:
            page.goto(base + name)
            _charts_fitted(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
            for index, chart in enumerate(page.evaluate(CHART_GEOMETRY)):
                where = f"{name} chart {index + 1}"
                assert chart["left"] >= 0 and chart["right"] <= PHONE["width"], (where, chart)
                assert chart["legendLeft"] >= 0 and chart["legendRight"] <= PHONE["width"], (where, chart)
                assert chart["crowded"] == 0, where  # no legend lies over an axis or the grid of a plot
                # the figures whose text names points keep those points' labels on a phone, clear of each other
                assert chart["keyLabels"] or chart["figure"] not in KEY_LABELLED, (where, chart["figure"])
                assert chart["overlappingLabels"] == 0, (where, chart["keyLabels"])
                labelled.update([chart["figure"]] if chart["keyLabels"] else [])
                if chart["smallest"] < 10.5:  # text stays legible: drawn at its size, not scaled down
                    too_small.add(where)
                assert any(text.startswith("Data:") or "Fits:" in text for text in chart["sources"]), where
                assert chart["tools"] == 3, where
                assert not [label for label in chart["labels"] if E_NOTATION.search(label)], where
            captions = page.evaluate("Array.from(document.querySelectorAll('.table-scroll'))"
                                     ".map(b => b.previousElementSibling && b.previousElementSibling.className)")
            assert all(caption == "table-caption" for caption in captions if caption is not None), name
    finally:
        log.close()
    assert log.errors == [] and log.foreign == []
    assert too_small == set()
    assert labelled == KEY_LABELLED


def test_on_a_desktop_no_chart_is_clipped_or_shrunk(real_book, base, browser) -> None:
    page, log = open_page(browser, base, viewport=DESKTOP)
    try:
        for name in chapter_pages():
            page.goto(base + name)
            _charts_fitted(page)
            for index, chart in enumerate(page.evaluate(CHART_GEOMETRY)):
                where = f"{name} chart {index + 1}"
                assert chart["scale"] == pytest.approx(1, abs=0.01), where  # drawn at its size, not scaled down
                assert chart["right"] <= chart["column"] + 1 and chart["legendRight"] <= chart["column"] + 1, where
                assert chart["crowded"] == 0, where
                assert not [label for label in chart["labels"] if E_NOTATION.search(label)], where
    finally:
        log.close()
    assert log.errors == [] and log.foreign == []


def _first_pixel(path: Path) -> tuple[int, ...]:
    """The top-left pixel of an 8-bit RGB or RGBA PNG (the first row's first pixel is stored as is under every filter)."""
    data, chunks, position = path.read_bytes(), [], 8
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunks.append((kind, data[position + 8:position + 8 + length]))
        position += 12 + length
    header = next(body for kind, body in chunks if kind == b"IHDR")
    depth, colour = header[8], header[9]
    assert depth == 8 and colour in (2, 6), (depth, colour)
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    return tuple(pixels[1:1 + (4 if colour == 6 else 3)])


def test_downloads_and_previews(real_book, base, browser, tmp_path) -> None:
    page, log = open_page(browser, base, viewport=DESKTOP, accept_downloads=True)
    try:
        page.goto(base + chapter_pages()[4])
        _charts_fitted(page)
        tools = page.locator(".atlas-chart-tools").first
        saved = {}
        for fmt in ("csv", "svg", "png"):
            with page.expect_download() as download:
                tools.locator(f"button[data-format={fmt}]").click()
            target = tmp_path / download.value.suggested_filename
            download.value.save_as(target)
            saved[fmt] = target
        assert saved["csv"].name == "fig-parametric-loss.csv"
        runs = pd.read_csv(saved["csv"])
        assert len(runs) > 200 and {"N", "D", "loss"} <= set(runs.columns)
        svg = saved["svg"].read_text(encoding="utf-8")
        assert svg.startswith("<svg") and "Data:" in svg
        assert re.search(r'<rect [^>]*fill="#ffffff"', svg[:600])  # on the white of the chart's card
        assert saved["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert _first_pixel(saved["png"]) in ((255, 255, 255), (255, 255, 255, 255))  # opaque white, not transparent

        figure_link = page.locator("main p a[href='#fig-parametric-loss']").first
        figure_link.hover()
        preview = page.locator(".xref-preview")
        preview.wait_for(state="visible", timeout=3000)
        assert preview.locator(".xref-preview-title").inner_text() == "Figure 5.1"
        caption = page.locator("#fig-parametric-loss figcaption").inner_text().split(":", 1)[1].split()[:6]
        assert " ".join(caption) in " ".join(preview.inner_text().split())  # the figure's own caption
        page.keyboard.press("Escape")
        citation = page.locator("main .citation a").first
        citation.focus()  # by keyboard, too
        preview.wait_for(state="visible", timeout=3000)
        assert preview.locator(".xref-preview-title").inner_text() == "Reference"
        assert re.search(r"\b(19|20)\d\d\b", preview.inner_text())
    finally:
        log.close()
    assert log.errors == [] and log.foreign == []
