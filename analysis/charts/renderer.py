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

RENDERER_NAME = "atlas"
MARKDOWN_MIME = "text/markdown"
CHART_FILES_DIR = Path(".atlas-charts")
"""Folder under the project root for the static SVGs the non-HTML formats embed (git-ignored)."""

# The PDF's chart font: vl-convert ships it inside its wheel, so every machine lays the static
# charts out (and the book embeds them) with the same glyphs, whatever fonts the system has.
PRINT_FONT = "Liberation Sans"
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

_chart_counter = itertools.count(1)

_LOADER_JS = """(function () {
  var id = %(id)s, bundle = %(bundle)s;
  if (!window.atlasVega) {
    window.atlasVega = new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = bundle;
      script.onload = resolve;
      script.onerror = function () { reject(new Error("could not load " + bundle)); };
      document.head.appendChild(script);
    });
  }
  window.atlasVega.then(function () {
    var spec = JSON.parse(document.getElementById(id + "-spec").textContent);
    return vegaEmbed("#" + id, spec, {renderer: "svg", actions: false});
  }).then(function () {
    // A column narrower than the chart (Quarto's, beside its sidebar and table of contents)
    // scales the chart down instead of cutting its legend off.
    var svg = document.getElementById(id).querySelector("svg");
    if (svg) { svg.style.maxWidth = "100%%"; svg.style.height = "auto"; }
  }).catch(function (error) {
    var target = document.getElementById(id);
    target.textContent = "The interactive chart could not be drawn (" + error.message + ").";
    console.error(error);
  });
})();"""


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


def static_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The print variant of a Vega-Lite spec: controls dropped, type sized and set for the page.

    Parameters keep their initial ``value`` (so a slider's default still drives the chart) but
    lose their ``bind`` (input widgets, legend clicks, zoom and pan mean nothing on paper), and
    titles lose the hints that ask for a click. Every font of the config becomes
    :data:`PRINT_FONT`.
    """
    static = _without_click_hints(_without_bindings(spec))
    config = _merge_config(static.get("config", {}), PRINT_CONFIG)
    static["config"] = _print_fonts({**config, "font": PRINT_FONT})
    return static


def chart_svg(spec: dict[str, Any]) -> str:
    """Static SVG of a Vega-Lite spec (through :func:`static_spec` and vl-convert)."""
    return vl_convert.vegalite_to_svg(_finite_json(static_spec(spec)))


def chart_html(spec: dict[str, Any], cwd: Path | None = None) -> str:
    """The HTML fragment that draws ``spec`` interactively with the site's local Vega bundle."""
    spec_json = _json_for_script(spec)
    digest = hashlib.sha256(spec_json.encode("utf-8")).hexdigest()[:12]
    chart_id = f"atlas-chart-{digest}-{next(_chart_counter)}"
    description = str(spec.get("description") or "Chart")
    loader = _LOADER_JS % {"id": json.dumps(chart_id), "bundle": _json_for_script(bundle_url(cwd))}
    return (
        f'<div class="atlas-chart" id="{chart_id}" role="figure" aria-label="{html.escape(description, quote=True)}"'
        ' style="max-width:100%;overflow-x:auto"></div>\n'
        f'<script type="application/json" id="{chart_id}-spec">{spec_json}</script>\n'
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
