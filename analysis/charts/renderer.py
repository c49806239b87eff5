"""The project's Altair renderer ``"atlas"``: one chart, one Markdown output for every format.

A chart displayed in a chapter produces a single ``text/markdown`` output holding two blocks of
Quarto's conditional content:

* ``when-format="html"``: a raw HTML block with a ``div.atlas-chart`` (``role="figure"``,
  ``aria-label`` = the chart's description), the Vega-Lite spec as JSON in a
  ``<script type="application/json">``, and a small script that loads the site's own Vega bundle
  once per page and draws the chart with ``vegaEmbed`` (SVG renderer, so the ARIA attributes of
  the marks exist; no action menu);
* ``unless-format="html"``: an image of the static variant of the same spec (:func:`static_spec`),
  an SVG rendered by vl-convert and written to ``<project root>/.atlas-charts/<hash>.svg``.

Every chart fits its column: the HTML carries a second, narrow variant of the spec
(:func:`narrow_spec`: legends below the plot, side-by-side panels stacked, facets in one column),
and the loader draws the wide spec where it fits, its plots narrowed a little where the column
holds at least :data:`WIDE_FROM` of its width (a desktop column), else the narrow one with its plots
widened or narrowed to the column (re-drawn when the column's width changes), so chart text keeps
its size on a phone. A chart that states its source (:func:`analysis.charts.source.with_source`) carries the
source line under it (in the drawing itself, so the SVG and PNG downloads and the PDF have it
too); every chart offers its data (CSV) and its image (SVG, PNG, on the white of the chart's card) for
download, made in the browser.

No ``text/html`` output on purpose: Quarto adds require.js and jQuery from a CDN to every page
where a cell output carries ``text/html`` or ``application/javascript`` (its rule for JavaScript
widgets), and the book loads nothing from another host. Quarto and the project's engine both pick
``text/markdown`` for the site and the PDF and keep the block meant for the format.

The SVG's file name is the hash of its content, so the same chart gives the same file on every
build. The file is written (or read back) on every display: the project's engine records every
project file a chapter opens, so its execution cache is valid only while the file is still there.

The bundle and image paths are relative: from the folder the chapter executes in (Quarto and the
project's engine both execute a chapter in its own folder) to the project root, the nearest
folder upwards holding ``_quarto.yml``. Output folders mirror the source tree, so the same
relative path works from the rendered page, over ``file://`` and ``http://`` alike.
"""

from __future__ import annotations

import copy
import hashlib
import html
import itertools
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import altair as alt
import vl_convert

from analysis.text import curly_apostrophes

RENDERER_NAME = "atlas"
MARKDOWN_MIME = "text/markdown"
CHART_FILES_DIR = Path(".atlas-charts")
"""Folder under the project root for the static SVGs the non-HTML formats embed (git-ignored)."""

# The PDF's chart font: the site's first chart font, and one with every superscript digit of the
# axes' powers of ten (Liberation Sans has only ¹²³, so 10²¹ would mix in a fallback serif).
# Debian's fonts-dejavu-core (`make system-packages`) provides it to vl-convert.
PRINT_FONT = "DejaVu Sans"
_FONT_KEYS = frozenset({"font", "labelFont", "titleFont"})
# Legend and axis titles that invite a click ("Family (click to highlight)") mean nothing on paper.
_INTERACTION_HINT = re.compile(r"\s*\((?:shift-)?click\b[^)]*\)", re.IGNORECASE)

# Larger type for the PDF: a ~650 px wide chart is scaled to the ~15 cm text width.
PRINT_CONFIG: dict[str, Any] = {
    "axis": {"labelFontSize": 13, "titleFontSize": 14},
    "legend": {"labelFontSize": 13, "titleFontSize": 13},
    "text": {"fontSize": 12},
    "title": {"fontSize": 15},
}

NARROW_WIDTH = 300
"""Plot width (px) of the narrow variant's views before the loader fits them to the column."""
NARROW_SOURCE_WIDTH = 270
"""Width (px) the narrow variant's source line is wrapped to: narrower than the smallest phone's column."""
SOURCE_FONT_SIZE = 11
LABELS_FROM = 480
"""Column width (px) from which the narrow variant keeps the name labels a chart asks to hide on phones."""
WIDE_FROM = 0.8
"""Share of the wide chart's width a column must have for the loader to draw the wide variant, its plots
narrowed to fit (a desktop column); in a narrower column it draws the narrow variant (a phone)."""
SOURCE_COLOR = "#555555"
CARD_BACKGROUND = "#ffffff"
"""Background of the downloaded SVG and PNG: the white card the site draws every chart on (in dark mode too)."""
_CHAR_WIDTH = 0.56
"""Average advance of a character of the chart font, as a share of its size (for wrapping the source line)."""
_LEGEND_CHANNELS = ("color", "fill", "stroke", "shape", "size", "opacity", "fillOpacity", "strokeOpacity",
                    "strokeWidth", "strokeDash")
_GRADIENT_CHANNELS = frozenset({"color", "fill", "stroke", "opacity", "fillOpacity", "strokeOpacity"})
_VIEW_KEYS = ("layer", "hconcat", "vconcat", "concat", "spec")

_chart_counter = itertools.count(1)

_LOADER_JS = """(function () {
  var id = %(id)s, bundle = %(bundle)s, MIN_PLOT = 140, WIDE_FROM = %(wide_from)s;
  if (!window.atlasVega) {
    window.atlasVega = new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = bundle;
      script.onload = resolve;
      script.onerror = function () { reject(new Error("could not load " + bundle)); };
      document.head.appendChild(script);
    });
  }
  if (!document.getElementById("atlas-chart-style")) {
    var style = document.createElement("style");
    style.id = "atlas-chart-style";
    style.textContent = %(style)s;
    document.head.appendChild(style);
    // A tooltip left by a tap must not stay over the legend while the reader scrolls on.
    window.addEventListener("scroll", function () {
      var tip = document.getElementById("vg-tooltip-element");
      if (tip) tip.classList.remove("visible");
    }, {passive: true});
  }
  var box = document.getElementById(id), tools = document.getElementById(id + "-tools");
  var wide = JSON.parse(document.getElementById(id + "-spec").textContent);
  var narrow = JSON.parse(document.getElementById(id + "-narrow").textContent);
  narrow.datasets = wide.datasets;
  var meta = (wide.usermeta && wide.usermeta.atlas) || {};
  var state = {result: null, variant: null, natural: false, column: 0, recent: [], wideWidth: 0, busy: null, timer: null};

  function column() {
    var parent = box.parentElement || box, css = getComputedStyle(parent);
    return Math.floor(parent.clientWidth - parseFloat(css.paddingLeft) - parseFloat(css.paddingRight));
  }
  function drawnWidth() {
    var svg = box.querySelector("svg");
    return svg ? parseFloat(svg.getAttribute("width")) : 0;
  }
  // The views of a spec in a fixed order (the renderer lists their widest widths in the same order).
  function views(node, found) {
    if (node && typeof node === "object") {
      if (typeof node.width === "number") found.push(node);
      ["layer", "hconcat", "vconcat", "concat", "spec"].forEach(function (key) {
        var child = node[key];
        if (Array.isArray(child)) child.forEach(function (c) { views(c, found); });
        else if (child && typeof child === "object") views(child, found);
      });
    }
    return found;
  }
  // A variant with each view's width changed by the delta of its row: one delta for a single view,
  // one per row of stacked panels, a row's delta shared by the views side by side in it. The narrow
  // variant's views may grow up to their wide widths; the wide variant's views only shrink.
  function widened(deltas, base) {
    base = base || narrow;
    var spec = JSON.parse(JSON.stringify(Object.assign({}, base, {datasets: undefined})));
    spec.datasets = wide.datasets;
    var limits = base === narrow ? (narrow.usermeta && narrow.usermeta.atlas && narrow.usermeta.atlas.widths) || []
      : views(wide, []).map(function (view) { return view.width; });
    var atlasMeta = (narrow.usermeta && narrow.usermeta.atlas) || {};
    var hidden = atlasMeta.labels || [], phone = atlasMeta.phone_labels || [];
    if (base === narrow && hidden.length && column() < %(labels_from)s) dropLayers(spec, hidden);
    if (base === narrow && phone.length && column() >= %(labels_from)s) dropLayers(spec, phone);
    var rows = Array.isArray(spec.vconcat) ? spec.vconcat : [spec], index = 0;
    rows.forEach(function (row, number) {
      var found = views(row, []), delta = (deltas[number] || 0) / Math.max(Array.isArray(row.hconcat) ? found.length : 1, 1);
      found.forEach(function (view) {
        var most = limits[index++] || view.width;
        view.width = Math.round(Math.max(Math.min(view.width + delta, most), Math.min(MIN_PLOT, view.width)));
      });
    });
    return spec;
  }
  function dropLayers(node, names) {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node.layer)) node.layer = node.layer.filter(function (layer) { return names.indexOf(layer.name) < 0; });
    ["layer", "hconcat", "vconcat", "concat", "spec"].forEach(function (key) {
      var child = node[key];
      if (Array.isArray(child)) child.forEach(function (c) { dropLayers(c, names); });
      else if (child && typeof child === "object") dropLayers(child, names);
    });
  }
  // How much each row of the drawn chart must grow (or shrink) to fill the column: each row's right
  // edge moves to where the widest row's must be (rows may start at different x: a table without
  // axes starts where the plots above it do, right of their axes).
  function rowDeltas(available, base) {
    var total = drawnWidth(), root = state.result.view.scenegraph().root.items[0];
    var groups = (root.items || []).filter(function (mark) { return mark.marktype === "group" && mark.role === "scope"; });
    if (!Array.isArray(base.vconcat) || groups.length !== base.vconcat.length) return [available - total];
    var rights = groups.map(function (mark) { return mark.items.length ? mark.items[0].bounds.x2 : 0; });
    var right = Math.max.apply(null, rights);
    return rights.map(function (edge) { return available - total + right - edge; });
  }
  function draw(variant, spec) {
    if (state.result) state.result.finalize();
    return vegaEmbed(box, spec, {renderer: "svg", actions: false, tooltip: {offsetX: 14, offsetY: 14}})
      .then(function (result) {
        state.result = result;
        state.variant = variant;
        state.natural = spec === wide;
        var svg = box.querySelector("svg");
        if (svg) { svg.style.maxWidth = "100%%"; svg.style.height = "auto"; }
        return drawnWidth();
      });
  }
  // The wide variant where the column holds it, its plots narrowed a little where it almost does
  // (a desktop column); the narrow variant only where the column is much narrower (a phone).
  function fit() {
    var available = column();
    if (!available) return Promise.resolve();
    state.column = available;
    if (state.wideWidth && available >= state.wideWidth) {
      if (state.variant === "wide" && state.natural) return Promise.resolve();
    } else if (state.wideWidth) {
      return available >= WIDE_FROM * state.wideWidth ? fitWide(available) : fitVariant("narrow", available);
    }
    return draw("wide", wide).then(function (width) {
      state.wideWidth = width;
      if (width > available) return available >= WIDE_FROM * width ? fitWide(available) : fitVariant("narrow", available);
    });
  }
  function fitWide(available) {
    return fitVariant("wide", available).then(function () {
      if (drawnWidth() > available + 1) return fitVariant("narrow", available);  // its plots could not narrow enough
    });
  }
  // Draw a variant, then correct each row's width until the chart fills the column (legends and the
  // source line also take width, so one correction may not do).
  function fitVariant(variant, available) {
    var base = variant === "wide" ? wide : narrow, total = [], previous = Infinity;
    function correct(round) {
      // First each row by its own excess or room; after that only rows still too wide shrink, and
      // the fitting stops once a round no longer narrows the chart (a row drawn at fixed pixel
      // positions does not respond, and the others must not shrink for it).
      var width = drawnWidth(), deltas = rowDeltas(available, base);
      if (round > 1 || variant === "wide") deltas = deltas.map(function (delta) { return Math.min(delta, 0); });
      if (round > 4 || width >= previous || !deltas.some(function (delta) { return delta < 0 || delta > 2; })) return;
      previous = round > 1 ? width : Infinity;
      total = deltas.map(function (delta, row) { return delta + (total[row] || 0); });
      return draw(variant, widened(total, base)).then(function () { return correct(round + 1); });
    }
    return draw(variant, widened([], base)).then(function () { return correct(1); });
  }
  // data-fitted names the variant drawn once it fills the column (tests and styles can wait for it).
  function fitted() { box.setAttribute("data-fitted", state.variant); }
  // Redraw when the column's width changes (debounced), at most four times in three seconds (a
  // redraw that toggles the page's scroll bar would otherwise redraw forever).
  function refit() {
    clearTimeout(state.timer);
    state.timer = setTimeout(function () {
      var width = column(), now = Date.now();
      if (state.busy || Math.abs(width - state.column) < 4) return;
      state.recent = state.recent.filter(function (time) { return now - time < 3000; }).concat([now]);
      if (state.recent.length > 4) return;
      box.removeAttribute("data-fitted");
      state.busy = fit().then(function () { state.busy = null; fitted(); });
    }, 150);
  }
  function stem() {
    var figure = box.closest("[id^='fig-']");
    return figure ? figure.id : id;
  }
  function csv() {
    if (meta.csv) return meta.csv;
    var rows = Object.keys(wide.datasets || {}).map(function (k) { return wide.datasets[k]; })
      .sort(function (a, b) { return b.length - a.length; })[0] || [];
    var columns = rows.length ? Object.keys(rows[0]) : [];
    var cell = function (v) { v = v == null ? "" : String(v); return /[",\\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; };
    var line = function (r) { return columns.map(function (c) { return cell(r[c]); }).join(","); };
    return [columns.join(",")].concat(rows.map(line)).join("\\n") + "\\n";
  }
  function save(name, url) {
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }
  if (tools) {
    tools.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-format]");
      if (!button) return;
      var format = button.getAttribute("data-format"), name = stem() + "." + format;
      if (format === "csv") {
        var url = URL.createObjectURL(new Blob([csv()], {type: "text/csv;charset=utf-8"}));
        save(name, url);
        setTimeout(function () { URL.revokeObjectURL(url); }, 5000);
        return;
      }
      // The image is always the wide chart, whatever the screen shows, on the white of the chart's card.
      var holder = document.createElement("div");
      holder.style.cssText = "position:absolute;left:-10000px;top:0";
      document.body.appendChild(holder);
      var image = Object.assign({}, wide, {background: %(background)s});
      vegaEmbed(holder, image, {renderer: "svg", actions: false}).then(function (result) {
        return result.view.toImageURL(format, format === "png" ? 2 : 1).then(function (url) {
          save(name, url);
          result.finalize();
          holder.remove();
        });
      }).catch(function (error) { holder.remove(); console.error(error); });
    });
  }
  window.atlasVega.then(function () {
    return fit();
  }).then(function () {
    fitted();
    if (window.ResizeObserver) new ResizeObserver(refit).observe(box.parentElement || box);
    else window.addEventListener("resize", refit);
  }).catch(function (error) {
    box.textContent = "The interactive chart could not be drawn (" + error.message + ").";
    console.error(error);
  });
})();"""

_CHART_STYLE = (
    ".atlas-chart{display:block;overflow:hidden}"
    ".atlas-chart-tools{display:flex;flex-wrap:wrap;align-items:center;gap:.35rem;margin:.35rem 0 0;font-size:.8rem}"
    ".atlas-chart-tools button{font:inherit;padding:.1rem .55rem;border:1px solid currentColor;border-radius:3px;"
    "background:transparent;color:inherit;cursor:pointer}"
    ".atlas-chart-tools button:hover,.atlas-chart-tools button:focus-visible{text-decoration:underline}"
    "#vg-tooltip-element{max-width:17rem;font-size:12px;line-height:1.3;padding:4px 7px}"
    "#vg-tooltip-element table tr td.key{max-width:6.5rem;white-space:normal;padding-right:6px}"
    "#vg-tooltip-element table tr td.value{max-width:10rem;white-space:normal;overflow-wrap:anywhere}"
)
"""Styles the loader adds to the page once: the download row, and compact tooltips (at most about
270 px wide) that keep most of the chart, its legend included, in view."""


def find_project_root(start: Path | None = None) -> Path:
    """Return the nearest folder at or above ``start`` (default: cwd) holding ``_quarto.yml``.

    Falls back to ``start`` itself when no folder above has one (a chart shown outside the book).
    """
    start = Path.cwd() if start is None else Path(start)
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "_quarto.yml").is_file():
            return folder
    return start


def bundle_url(cwd: Path | None = None) -> str:
    """Relative URL (POSIX separators) from ``cwd`` to the project's Vega bundle."""
    # Imported here, not at the top: `python -m analysis.charts.bundle` imports this package first,
    # and the module must not be in sys.modules by then (runpy warns that it runs twice).
    from analysis.charts.bundle import BUNDLE_RELATIVE_PATH

    cwd = (Path.cwd() if cwd is None else Path(cwd)).resolve()
    target = find_project_root(cwd) / BUNDLE_RELATIVE_PATH
    return Path(os.path.relpath(target, cwd)).as_posix()


def _finite_json(value: Any) -> Any:
    """Copy of ``value`` with NaN and infinities replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(item) for item in value]
    return value


def _json_for_script(value: Any) -> str:
    """Strict JSON that is safe inside an HTML ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(_finite_json(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _without_bindings(node: Any) -> Any:
    """Copy of a spec fragment with every parameter's ``bind`` removed (recursively)."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "params" and isinstance(value, list):
                result[key] = [
                    {k: _without_bindings(v) for k, v in param.items() if k != "bind"} for param in value
                ]
            else:
                result[key] = _without_bindings(value)
        return result
    if isinstance(node, list):
        return [_without_bindings(item) for item in node]
    return node


def _merge_config(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_config(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _print_fonts(node: Any) -> Any:
    """Copy of a config fragment with every font family set to :data:`PRINT_FONT`."""
    if isinstance(node, dict):
        return {key: PRINT_FONT if key in _FONT_KEYS and isinstance(value, str) else _print_fonts(value)
                for key, value in node.items()}
    return node


def _without_click_hints(node: Any) -> Any:
    """Copy of a spec fragment whose string ``title`` values lose "(click to ...)" hints."""
    if isinstance(node, dict):
        return {key: _INTERACTION_HINT.sub("", value) if key == "title" and isinstance(value, str)
                else _without_click_hints(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_without_click_hints(item) for item in node]
    return node


def _views(node: Any, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every view with a numeric ``width``, depth-first in :data:`_VIEW_KEYS` order (the loader's order too)."""
    if isinstance(node, dict):
        if isinstance(node.get("width"), (int, float)) and not isinstance(node.get("width"), bool):
            found.append(node)
        for key in _VIEW_KEYS:
            child = node.get(key)
            for item in child if isinstance(child, list) else [child] if isinstance(child, dict) else []:
                _views(item, found)
    return found


def _drawn_width(spec: dict[str, Any]) -> float:
    """Rough width (px) of a spec's plots side by side: what its source line may span."""
    if isinstance(spec.get("hconcat"), list):
        return sum(_drawn_width(child) for child in spec["hconcat"]) + 20 * (len(spec["hconcat"]) - 1)
    if isinstance(spec.get("facet"), dict) and isinstance(spec.get("spec"), dict):
        columns = 3 if "column" in spec["facet"] else 1
        return columns * _drawn_width(spec["spec"]) + 20 * (columns - 1)
    widths = [view["width"] for view in _views(spec, [])]
    return float(max(widths)) + 50 if widths else 500.0


def _wrap(text: str, width_px: float, font_size: float) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width_px`` (estimated from the font size);
    never at a no-break space (``5.04 × 10²³ FLOP`` stays on one line)."""
    limit = max(int(width_px / (_CHAR_WIDTH * font_size)), 24)
    lines: list[str] = []
    for word in re.split(r"[ \t\r\n]+", text.strip()):
        if lines and len(lines[-1]) + 1 + len(word) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def chart_meta(spec: dict[str, Any]) -> dict[str, Any]:
    """What :func:`analysis.charts.source.with_source` attached to a spec (``source``, ``csv``, ``narrow``)."""
    usermeta = spec.get("usermeta")
    meta = usermeta.get("atlas") if isinstance(usermeta, dict) else None
    return meta if isinstance(meta, dict) else {}


def with_source_title(spec: dict[str, Any], width_px: float | None = None,
                      font_size: float = SOURCE_FONT_SIZE) -> dict[str, Any]:
    """Copy of ``spec`` with its source line drawn under it (a bottom title, wrapped to the chart's
    width), or ``spec`` itself when it states no source."""
    source = chart_meta(spec).get("source")
    if not source or "title" in spec:
        return spec
    lines = _wrap(str(source), width_px or _drawn_width(spec), font_size)
    title = {"text": lines, "orient": "bottom", "anchor": "start", "frame": "bounds", "offset": 12,
             "fontSize": font_size, "fontWeight": "normal", "color": SOURCE_COLOR, "lineHeight": font_size + 3}
    return {**spec, "title": title}


def _narrow_legend(channel: str, encoding: dict[str, Any], columns: int) -> None:
    """Put the legend of one encoding channel below the plot, in at most ``columns`` columns."""
    if "field" not in encoding and not isinstance(encoding.get("condition"), dict):
        return
    if "field" not in encoding:
        _narrow_legend(channel, encoding["condition"], columns)
        return
    if "legend" in encoding and encoding["legend"] is None:
        return
    legend = {k: v for k, v in (encoding.get("legend") or {}).items() if k not in ("legendX", "legendY")}
    legend["orient"] = "bottom"
    if channel in _GRADIENT_CHANNELS and encoding.get("type") in ("quantitative", "temporal"):
        legend["direction"] = "horizontal"
        legend["gradientLength"] = min(int(legend.get("gradientLength", 200)), 200)
    else:
        legend["columns"] = columns
        legend["labelLimit"] = int(NARROW_WIDTH / columns) - 28
    encoding["legend"] = legend


def _has_points(layers: list[Any]) -> bool:
    """Whether a layer list draws marks other than text (what labels label; a table of text has none)."""
    kinds = [(layer.get("mark", {}).get("type") if isinstance(layer.get("mark"), dict) else layer.get("mark"))
             for layer in layers if isinstance(layer, dict)]
    return any(kind not in (None, "text") for kind in kinds) or any(
        isinstance(layer, dict) and "layer" in layer for layer in layers)


def _is_label_layer(view: dict[str, Any]) -> bool:
    """A layer of name labels (text from a field), or of the leader lines from points to their names."""
    mark = view.get("mark")
    kind = mark.get("type") if isinstance(mark, dict) else mark
    encoding = view.get("encoding", {})
    text = encoding.get("text")
    leader = kind == "rule" and all(isinstance(encoding.get(c), dict) and "field" in encoding[c] for c in ("x2", "y2"))
    return (kind == "text" and isinstance(text, dict) and "field" in text) or leader


def _with_own_axes(panel: Any, label_limit: int) -> Any:
    """A panel stacked under another shows its own axes: an axis hidden because the panel beside it
    showed the same labels (``axis: null``) is drawn again."""
    if isinstance(panel, list):
        return [_with_own_axes(item, label_limit) for item in panel]
    if not isinstance(panel, dict):
        return panel
    result = {key: _with_own_axes(value, label_limit) if key in _VIEW_KEYS else value for key, value in panel.items()}
    encoding = result.get("encoding")
    if isinstance(encoding, dict):
        result["encoding"] = {channel: {k: v for k, v in value.items() if not (k == "axis" and v is None)}
                              if channel in ("x", "y") and isinstance(value, dict) else value
                              for channel, value in encoding.items()}
        for channel in ("x", "y"):
            if isinstance(result["encoding"].get(channel), dict):
                _narrow_axis(channel, result["encoding"][channel], label_limit)
    return result


NARROW_LABEL_LIMIT = 130
"""Widest row label (px) of a nominal y axis in the narrow variant (longer ones end in "…"; tooltips have them whole)."""
NARROW_TITLE_CHARS = 26
"""An x-axis title longer than this is broken into lines in the narrow variant."""


def _narrow_axis(channel: str, encoding: dict[str, Any], label_limit: int = NARROW_LABEL_LIMIT) -> None:
    """A long x-axis title is broken into lines, labels of a nominal x axis at their spaces, and row
    labels of a nominal y axis limited to ``label_limit`` pixels, so none crowds a phone's plot."""
    if encoding.get("axis", {}) is None:
        return
    if channel == "y" and encoding.get("type") == "nominal":
        axis = dict(encoding.get("axis") or {})
        axis["labelLimit"] = min(int(axis.get("labelLimit", label_limit)), label_limit)
        encoding["axis"] = axis
        return
    if channel != "x":
        return
    axis = dict(encoding.get("axis") or {})
    title = encoding.get("title")
    if isinstance(title, str) and len(title) > NARROW_TITLE_CHARS:
        encoding["title"] = _wrap(title, NARROW_TITLE_CHARS * _CHAR_WIDTH * 10, 10)
    if encoding.get("type") == "nominal" and "labelExpr" not in axis:
        axis["labelExpr"] = "split(datum.label, ' ')"
        if axis.get("orient") == "top":  # the lines grow downwards: lift the block above the axis
            labels = encoding.get("sort") if isinstance(encoding.get("sort"), list) else []
            lines = max((len(str(label).split(" ")) for label in labels), default=1)
            axis["labelLineHeight"] = 12
            axis["labelPadding"] = 3 + 12 * (lines - 1)
        encoding["axis"] = axis


def _from_right(node: dict[str, Any], width: float) -> None:
    """Marks placed at a fixed pixel near the right edge (``x: {"value": 556}`` in a 560 px plot)
    keep their distance from the right edge when the plot is narrower."""
    for layer in node.get("layer", []):
        encoding = layer.get("encoding", {}) if isinstance(layer, dict) else {}
        x = encoding.get("x")
        if isinstance(x, dict) and isinstance(x.get("value"), (int, float)) and x["value"] > width / 2:
            encoding["x"] = {**x, "value": {"expr": f"width - {width - x['value']:g}"}}


def _row_label_limit(hints: dict[str, Any]) -> int:
    """Widest row label (px) of a nominal y axis on a phone: the chart's hint, else :data:`NARROW_LABEL_LIMIT`."""
    return int(hints.get("row_label_limit", NARROW_LABEL_LIMIT))


def _narrow_node(node: Any, hints: dict[str, Any]) -> Any:
    """The narrow form of a spec fragment: stacked panels, legends below, label layers per ``hints``."""
    if isinstance(node, list):
        return [_narrow_node(item, hints) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("name") in hints.get("replace", {}):
        node = {**copy.deepcopy(hints["replace"][node["name"]]), "name": node["name"]}
    result = {key: _narrow_node(value, hints) for key, value in node.items() if key != "datasets"}
    if isinstance(result.get("hconcat"), list) and hints.get("stack", True):
        result["vconcat"] = [_with_own_axes(panel, _row_label_limit(hints)) for panel in result.pop("hconcat")]
    if result.get("bounds") == "flush":  # flush bounds leave no room for the legends that move below the plots
        result["bounds"] = "full"
        result.pop("spacing", None)
    if isinstance(result.get("concat"), list):
        result["columns"] = 1
    facet = result.get("facet")
    if isinstance(facet, dict) and "column" in facet and "row" not in facet:
        result["facet"] = facet["column"]
        result["columns"] = 1
    elif isinstance(facet, dict) and "field" in facet:  # a wrapped facet: one panel a row
        result["columns"] = 1
    for channel, encoding in (result.get("encoding") or {}).items():
        if channel in _LEGEND_CHANNELS and isinstance(encoding, dict):
            _narrow_legend(channel, encoding, int(hints.get("legend_columns", 2)))
        if isinstance(encoding, dict):
            _narrow_axis(channel, encoding, _row_label_limit(hints))
    if hints.get("labels") == "hide" and isinstance(result.get("layer"), list) and _has_points(result["layer"]):
        labelled = False
        for layer in result["layer"]:
            if isinstance(layer, dict) and _is_label_layer(layer):
                layer.setdefault("name", f"atlas_label_{len(hints.get('_labels', [])) + 1}")
                hints.setdefault("_labels", []).append(layer["name"])
                labelled = True
        if labelled and "phone_labels" in hints and not hints.get("_phone_labels"):
            # its axes' titles wrapped as the other layers' are (Vega-Lite would join two different titles)
            phone = _narrow_node(copy.deepcopy(hints["phone_labels"]), {"row_label_limit": _row_label_limit(hints)})
            result["layer"].append({**phone, "name": PHONE_LABELS_LAYER})
            hints["_phone_labels"] = [PHONE_LABELS_LAYER]
    return result


PHONE_LABELS_LAYER = "atlas_phone_labels"
"""Name of the layer of a chart's key labels placed for a phone (hint ``phone_labels``) in its narrow variant."""
_DRAWINGS = ("replace", "phone_labels")
"""Hints holding phone drawings: once drawn into the narrow spec, its metadata need not carry them again."""


def _without_replacements(meta: dict[str, Any]) -> dict[str, Any]:
    """What :func:`with_source` attached, less the phone drawings (once drawn, the spec holds them)."""
    narrow = meta.get("narrow")
    if not isinstance(narrow, dict) or not any(key in narrow for key in _DRAWINGS):
        return meta
    return {**meta, "narrow": {key: value for key, value in narrow.items() if key not in _DRAWINGS}}


def narrow_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The phone variant of a Vega-Lite spec (without its ``datasets``, which it shares with ``spec``).

    Legends move below the plot (symbol legends in two columns, gradients horizontal), side-by-side
    panels (``hconcat``) are stacked, a row of facets becomes a column, and every view is
    :data:`NARROW_WIDTH` pixels wide at most; the loader then widens or narrows the views to the
    column, up to their wide width (listed in ``usermeta.atlas.widths``, in :func:`_views` order).
    Hints from :func:`analysis.charts.source.with_source` (``narrow=``) adjust it; with
    ``labels: "hide"`` the name labels (listed in ``usermeta.atlas.labels``) are left out by the
    loader where the column is narrower than :data:`LABELS_FROM` pixels, and ``phone_labels`` (the
    labels of the few points that matter, placed for a phone's plot) is drawn there instead, in the
    first view whose labels it hides (a layer :data:`PHONE_LABELS_LAYER`, left out from
    :data:`LABELS_FROM` pixels, where the other labels are back); ``replace`` swaps named
    views for their phone drawing. A concat laid out by its plots alone (``bounds: "flush"``, the
    room of axes and legends left to its spacing) is laid out by its full bounds, since its
    legends now lie below the plots.
    """
    hints = dict(chart_meta(spec).get("narrow") or {})
    narrow = _narrow_node(spec, hints)
    labels = hints.pop("_labels", [])
    phone_labels = hints.pop("_phone_labels", [])
    if isinstance(narrow.get("width"), (int, float)) and isinstance(narrow.get("layer"), list):
        _from_right(narrow, float(narrow["width"]))  # a single view: its `width` signal is the plot's
    widths = []
    for view in _views(narrow, []):
        widths.append(max(view["width"], NARROW_WIDTH))
        view["width"] = min(view["width"], NARROW_WIDTH)
        if isinstance(hints.get("height"), (int, float)) and isinstance(view.get("height"), (int, float)):
            view["height"] = hints["height"]
    config = narrow.setdefault("config", {})
    config["legend"] = {**config.get("legend", {}), "orient": "bottom",
                        "layout": {"bottom": {"direction": "vertical", "anchor": "start"}}}
    usermeta = dict(narrow.get("usermeta") or {})
    usermeta["atlas"] = {**_without_replacements(chart_meta(spec)), "widths": widths, "labels": labels,
                        "phone_labels": phone_labels}
    usermeta["atlas"].pop("csv", None)
    narrow["usermeta"] = usermeta
    return with_source_title(narrow, NARROW_SOURCE_WIDTH)


_READER_TEXT_KEYS = frozenset({"title", "description", "text"})
"""Keys whose literal strings a reader sees or hears: chart, axis, legend and tooltip titles, descriptions, and a
title's ``text``. A mark's ``text`` (a field, a value or an expression) is an object, never a bare string."""


def typographic(node: Any, reader_text: bool = False) -> Any:
    """Copy of a spec whose titles and descriptions have the typographic apostrophe (``Kaplan et al.’s``):
    literal strings under :data:`_READER_TEXT_KEYS` only, never the data, field names or expressions."""
    if isinstance(node, str):
        return curly_apostrophes(node) if reader_text else node
    if isinstance(node, list):
        return [typographic(item, reader_text) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: value if key in ("data", "datasets", "usermeta") else typographic(value, key in _READER_TEXT_KEYS)
            for key, value in node.items()}


def static_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The print variant of a Vega-Lite spec: controls dropped, type sized and set for the page.

    Parameters keep their initial ``value`` (so a slider's default still drives the chart) but
    lose their ``bind`` (input widgets, legend clicks, zoom and pan mean nothing on paper), and
    titles lose the hints that ask for a click. Every font of the config becomes
    :data:`PRINT_FONT`. The source line, if any, is drawn under the chart.
    """
    static = _without_click_hints(_without_bindings(with_source_title(typographic(spec), font_size=SOURCE_FONT_SIZE + 1)))
    config = _merge_config(static.get("config", {}), PRINT_CONFIG)
    static["config"] = _print_fonts({**config, "font": PRINT_FONT})
    return static


def chart_svg(spec: dict[str, Any]) -> str:
    """Static SVG of a Vega-Lite spec (through :func:`static_spec` and vl-convert)."""
    return vl_convert.vegalite_to_svg(_finite_json(static_spec(spec)))


def chart_html(spec: dict[str, Any], cwd: Path | None = None) -> str:
    """The HTML fragment that draws ``spec`` interactively with the site's local Vega bundle:
    the chart's box, its download buttons, the wide and narrow specs and the loader (titles and
    descriptions with typographic apostrophes, :func:`typographic`)."""
    spec = typographic(spec)
    wide = with_source_title(spec)
    if any(key in (chart_meta(wide).get("narrow") or {}) for key in _DRAWINGS):  # the narrow spec holds them
        wide = {**wide, "usermeta": {**wide["usermeta"], "atlas": _without_replacements(chart_meta(wide))}}
    spec_json = _json_for_script(wide)
    digest = hashlib.sha256(spec_json.encode("utf-8")).hexdigest()[:12]
    chart_id = f"atlas-chart-{digest}-{next(_chart_counter)}"
    description = str(spec.get("description") or "Chart")
    loader = _LOADER_JS % {"id": json.dumps(chart_id), "bundle": _json_for_script(bundle_url(cwd)),
                           "style": _json_for_script(_CHART_STYLE), "labels_from": LABELS_FROM, "wide_from": WIDE_FROM,
                           "background": _json_for_script(CARD_BACKGROUND)}
    return (
        f'<div class="atlas-chart" id="{chart_id}" role="figure" aria-label="{html.escape(description, quote=True)}"'
        ' style="max-width:100%"></div>\n'
        f'<div class="atlas-chart-tools" id="{chart_id}-tools" role="group" aria-label="Download this chart">'
        '<span>Download:</span> <button type="button" data-format="csv" aria-label="Data (CSV)">Data</button> '
        '<button type="button" data-format="svg" aria-label="Image (SVG)">SVG</button> '
        '<button type="button" data-format="png" aria-label="Image (PNG)">PNG</button></div>\n'
        f'<script type="application/json" id="{chart_id}-spec">{spec_json}</script>\n'
        f'<script type="application/json" id="{chart_id}-narrow">{_json_for_script(narrow_spec(spec))}</script>\n'
        f"<script>\n{loader}\n</script>\n"
    )


def write_chart_svg(svg: str, cwd: Path | None = None) -> str:
    """Write ``svg`` to the project's chart folder; return its path relative to ``cwd`` (POSIX).

    The name is the SHA-256 of the content, so the call is idempotent. The file is read back
    when it exists and rewritten only when its content differs; either way it is opened, which
    is how the project's engine learns that the chapter depends on it.
    """
    cwd = (Path.cwd() if cwd is None else Path(cwd)).resolve()
    content = svg.encode("utf-8")
    target = find_project_root(cwd) / CHART_FILES_DIR / f"{hashlib.sha256(content).hexdigest()[:20]}.svg"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        current = target.read_bytes()
    except FileNotFoundError:
        current = None
    if current != content:
        target.write_bytes(content)
    return Path(os.path.relpath(target, cwd)).as_posix()


def _raw_html_block(fragment: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", fragment)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{{=html}}\n{fragment.rstrip()}\n{fence}"


def chart_markdown(spec: dict[str, Any], cwd: Path | None = None) -> str:
    """The chart as Markdown: the interactive HTML for the site, the static SVG for other formats.

    Writes the SVG with :func:`write_chart_svg` (relative to ``cwd``, default the working folder).
    """
    image = write_chart_svg(chart_svg(spec), cwd)
    return (
        '::: {.content-visible when-format="html"}\n\n'
        f"{_raw_html_block(chart_html(spec, cwd))}\n\n"
        ":::\n\n"
        '::: {.content-visible unless-format="html"}\n\n'
        f"![]({image})\n\n"
        ":::\n"
    )


def atlas_renderer(spec: dict[str, Any], **metadata: Any) -> dict[str, str]:
    """Altair renderer: a MIME bundle with ``text/markdown`` only (see the module docstring)."""
    return {MARKDOWN_MIME: chart_markdown(spec)}


def register_renderer() -> None:
    """Register the renderer with Altair under :data:`RENDERER_NAME` and enable it."""
    alt.renderers.register(RENDERER_NAME, atlas_renderer)
    alt.renderers.enable(RENDERER_NAME)
