"""Where a chart's data come from, and the data a reader can download: one call per chart function.

A chart function ends with :func:`with_source`, naming the rows it draws (whose provenance
columns say what they cite) and what the book adds (fits). The renderer
(:mod:`analysis.charts.renderer`) then draws the source line under the chart, in the site's
interactive chart, in its SVG and PNG downloads and in the PDF, and offers the rows as a CSV
download beside the chart. Citations are written author-year from ``references.bib``
(``"Hoffmann et al. (2022), Table 3"``), never as raw BibTeX keys.

    return with_source(chart, points, fits="this book")
    return with_source(chart, markers, sources=[runs_source], fits="this book", data=runs)

Narrow screens: the renderer derives a phone layout from every chart (legends below the plot,
side-by-side panels stacked, plots as wide as the column). ``narrow=`` passes hints for it
(see :data:`NARROW_HINTS`), e.g. ``narrow={"labels": "hide"}`` where the name labels of a dense
scatter plot would collide at phone width (the names stay in the tooltips), or
``narrow={"replace": {"readout": two_line_table}}`` where a view drawn at fixed pixel positions
(a table of text marks) needs a layout of its own on a phone: the view named ``"readout"``
(``.properties(name="readout")``) is drawn as ``two_line_table`` there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import pandas as pd

from analysis import resources
from analysis.bibliography import narrative

USERMETA_KEY = "atlas"
"""Key under the spec's ``usermeta`` holding ``source``, ``csv`` and ``narrow``."""
NARROW_HINTS = {
    "labels": "'hide' drops text marks that label points (their names stay in the tooltips); 'keep' (default)",
    "phone_labels": "with labels 'hide': a chart of the labels of the few points that matter, placed for a phone's "
                    "plot (:data:`analysis.charts.theme.PHONE_WIDTH`), drawn on phones instead of the hidden labels",
    "legend_columns": "columns of symbol legends below the plot (default 2)",
    "height": "plot height in pixels of every panel of the phone layout (default: as on wide screens)",
    "row_label_limit": "widest row label in pixels of a nominal y axis (default 130; longer ones end in '…')",
    "stack": "False keeps side-by-side panels side by side (default True: stacked)",
    "replace": "{view name: chart}: views drawn otherwise on a phone (e.g. a table's rows on two lines), the chart "
               "reading the figure's parameters, its data carried inline",
}
"""The hints :func:`with_source` accepts in ``narrow=`` and what each does."""
DETAIL_LIMIT = 28
"""A citation's detail (``"Table 3"``) is shown when its first clause is at most this long."""
_PLACE = re.compile(r"^(Table|Figure|Fig\.|Section|Appendix|Equation|Eq\.)\s", re.IGNORECASE)
"""A detail worth a place in the source line names a table, figure or section of the paper."""
_INTERNAL_COLUMNS = re.compile(r"^(label_|leader)")
"""Columns that only place marks (label offsets, leader lines): left out of the CSV download."""

ChartT = TypeVar("ChartT")


def _short_detail(detail: object) -> str:
    """The first clause of a ``source_detail`` (``"Table 16 (few-shot ...), row X" -> "Table 16"``)."""
    if not isinstance(detail, str):
        return ""
    first = re.split(r"\s*[,;:(]\s*", detail.strip(), maxsplit=1)[0].strip()
    return first if len(first) <= DETAIL_LIMIT and _PLACE.match(first) else ""


def cited_in(rows: pd.DataFrame) -> list[tuple[str, str]]:
    """``(key, detail)`` pairs the rows cite, in order of first appearance: the bibliography key in
    ``source_key`` and the short form of ``source_detail`` (none without a ``source_key`` column)."""
    if "source_key" not in rows.columns:
        return []
    details = rows["source_detail"] if "source_detail" in rows.columns else pd.Series("", index=rows.index)
    pairs = dict.fromkeys((str(key), _short_detail(detail)) for key, detail in zip(rows["source_key"], details, strict=True)
                          if isinstance(key, str) and key)
    return list(pairs)


def written_sources(rows: pd.DataFrame) -> list[str]:
    """The rows' ``source`` texts when they carry no bibliography keys (``source_key``): sources
    already written out, as a generated report's runs or markers have them."""
    if "source_key" in rows.columns or "source" not in rows.columns:
        return []
    return [str(text) for text in dict.fromkeys(rows["source"]) if isinstance(text, str) and text.strip()]


def source_line(rows: pd.DataFrame | None = None, *, cites: Iterable[tuple[str, str] | str] = (),
                sources: Iterable[str] = (), fits: str | None = None) -> str:
    """``"Data: Hoffmann et al. (2022), Table 3; Besiroglu et al. (2024). Fits: this book."``

    ``rows`` are cited through :func:`cited_in` (or :func:`written_sources`); ``cites`` adds ``key`` or ``(key, detail)``
    entries; ``sources`` are sources already written out (``"Epoch AI extraction of ..."``), listed
    first. A key's details are listed when every one is short, else the key stands alone.
    Raises :class:`analysis.bibliography.BibliographyError` for a key the bibliography lacks.
    """
    pairs = cited_in(rows) if rows is not None else []
    sources = [*sources, *(written_sources(rows) if rows is not None else [])]
    pairs += [(item, "") if isinstance(item, str) else (item[0], item[1]) for item in cites]
    details: dict[str, list[str]] = {}
    for key, detail in pairs:
        details.setdefault(key, [])
        if detail not in details[key]:
            details[key].append(detail)
    bibliography = resources.bibliography()
    parts = list(dict.fromkeys(str(text) for text in sources if str(text).strip()))
    for key, found in details.items():
        shown = [d for d in found if d]
        complete = shown and len(shown) == len(found) and len(shown) <= 3
        parts.append(narrative(key, bibliography) + (", " + " and ".join(shown) if complete else ""))
    text = ("Data: " + "; ".join(parts) + ".") if parts else ""
    if fits:
        text = (text + " " if text else "") + f"Fits: {fits}."
    return text


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV for download: placement-only columns left out, dates as ``YYYY-MM-DD``."""
    keep = [column for column in frame.columns if not _INTERNAL_COLUMNS.match(str(column))]
    out = frame[keep].copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n")


def _inline_data(node: Any, datasets: Mapping[str, Any]) -> Any:
    """Copy of a spec fragment whose named datasets (``{"data": {"name": ...}}``) are written out as values."""
    if isinstance(node, list):
        return [_inline_data(item, datasets) for item in node]
    if not isinstance(node, dict):
        return node
    data = node.get("data")
    result = {key: _inline_data(value, datasets) for key, value in node.items() if key != "data"}
    if isinstance(data, dict) and data.get("name") in datasets:
        result["data"] = {"values": datasets[data["name"]]}
    elif data is not None:
        result["data"] = data
    return result


def _standalone(view: Any) -> dict[str, Any]:
    """A chart (or its spec) as a view to put inside another spec: its data inline, no schema or config of
    its own (the figure's apply)."""
    spec = view.to_dict() if hasattr(view, "to_dict") else dict(view)
    datasets = spec.pop("datasets", {})
    for key in ("$schema", "config"):
        spec.pop(key, None)
    return _inline_data(spec, datasets)


def with_source(chart: ChartT, rows: pd.DataFrame | None = None, *, cites: Sequence[tuple[str, str] | str] = (),
                sources: Sequence[str] = (), fits: str | None = None, data: pd.DataFrame | None = None,
                narrow: Mapping[str, Any] | None = None) -> ChartT:
    """``chart`` carrying its source line, its downloadable data and phone-layout hints.

    Args:
        chart: the finished top-level Altair chart (layer, concat or facet) a chapter displays.
        rows: the data rows drawn; their provenance columns (``source_key`` and ``source_detail``,
            or a written-out ``source``) give the citations.
        cites: further sources, ``key`` or ``(key, detail)`` (e.g. published coefficients).
        sources: sources already written out, listed first (e.g. a dataset's description).
        fits: what the book adds, e.g. ``"this book"`` (``"Fits: this book."``).
        data: the frame offered as CSV (default ``rows``).
        narrow: hints for the phone layout (:data:`NARROW_HINTS`).
    """
    unknown = sorted(set(narrow or {}) - set(NARROW_HINTS))
    if unknown:
        raise ValueError(f"with_source: unknown narrow hint(s) {', '.join(unknown)} (known: {', '.join(NARROW_HINTS)})")
    meta: dict[str, Any] = {"source": source_line(rows, cites=cites, sources=sources, fits=fits)}
    frame = data if data is not None else rows
    if frame is not None:
        meta["csv"] = csv_text(frame)
    if narrow:
        meta["narrow"] = dict(narrow)
        if "replace" in narrow:
            meta["narrow"]["replace"] = {name: _standalone(view) for name, view in narrow["replace"].items()}
        if "phone_labels" in narrow:
            meta["narrow"]["phone_labels"] = _standalone(narrow["phone_labels"])
    existing = getattr(chart, "usermeta", None)
    usermeta = dict(existing) if isinstance(existing, dict) else {}
    usermeta[USERMETA_KEY] = meta
    return chart.properties(usermeta=usermeta)  # type: ignore[attr-defined]
