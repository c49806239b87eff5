"""Tables for the book: a pandas frame as a Markdown pipe table.

Tables reach the page as ``text/markdown`` only, so pandoc turns them into real tables in both the
HTML site and the PDF, and ``tbl-cap`` cross-references work with either engine. Every cell is
escaped: text from the data (a model named ``<script>alert(1)</script>``) is shown as text, never
interpreted as HTML or Markdown.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
from IPython.display import Markdown

from analysis.text import MINUS, TIMES, curly_apostrophes, superscript

Formatter = Callable[[Any], str]

# Characters with a meaning in pandoc Markdown (inline markup, links, HTML, math, pipes, citations).
_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~^$@&\"'=:;")
_BLANKS = re.compile(r"[^\S\u00a0\u202f]+")
"""Runs of white space, line breaks included, but not the no-break spaces inside a number (``5.04 × 10²³``)."""


def escape_markdown(text: str) -> str:
    """Escape ``text`` so pandoc Markdown shows it literally inside a table cell; an apostrophe inside a word or
    after a plural's s (the authors’ code) becomes the typographic one (’) the running text around the table has."""
    text = _BLANKS.sub(" ", str(text)).strip()  # a pipe-table row is one line
    text = curly_apostrophes(text)  # escaped, pandoc would keep a straight one straight
    return "".join(f"\\{char}" if char in _MARKDOWN_SPECIAL else char for char in text)


def format_number(value: float, digits: int = 3) -> str:
    """Format a number for a table: ``digits`` significant figures, thousands separators, a power
    of ten (``5.04 × 10²³``) outside 0.001 to 1,000,000, ``"–"`` for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return f"{int(value):,}"
    number = float(value)
    if number == 0:
        return "0"
    magnitude = abs(number)
    if 1e-3 <= magnitude < 1e6:
        decimals = max(digits - 1 - math.floor(math.log10(magnitude)), 0)
        return f"{number:,.{decimals}f}"
    mantissa, exponent = f"{number:.{digits - 1}e}".split("e")
    return f"{mantissa.replace('-', MINUS)}{TIMES}10{superscript(int(exponent))}"


def _format_cell(value: Any, formatter: Formatter | None, digits: int) -> str:
    if formatter is not None:
        return formatter(value)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Number):
        return format_number(value, digits)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


def markdown_table(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str] | Sequence[str] | None = None,
    formats: Mapping[str, Formatter] | None = None,
    digits: int = 3,
    align: Mapping[str, str] | None = None,
    markdown_columns: Sequence[str] = (),
    widths: Mapping[str, int] | None = None,
) -> Markdown:
    """Return ``frame`` as an escaped pandoc pipe table wrapped in :class:`IPython.display.Markdown`.

    Parameters
    ----------
    frame:
        The rows to show, in order (the index is not shown).
    columns:
        Which columns to show: a sequence of column names, or a mapping from column name to its
        header text (e.g. ``{"gflops": "GFLOPs per example"}``). Default: all columns.
    formats:
        Per-column formatter ``value -> str`` (its output is escaped too).
    digits:
        Significant figures for numbers without a formatter.
    align:
        Per-column ``"left"``, ``"right"`` or ``"center"``; default right for numeric columns,
        left otherwise.
    markdown_columns:
        Columns whose *formatter* output is trusted Markdown and left unescaped (e.g. a citation
        ``[@key]`` built by the book from a validated key). Requires a formatter for each one, so
        raw data text never reaches the page unescaped.
    widths:
        Relative column widths (e.g. ``{"question": 30, "finding": 60}``); pandoc reads them from
        the number of dashes in the rule line when a row is wider than the page.
    """
    if columns is None:
        headers = {name: str(name) for name in frame.columns}
    elif isinstance(columns, Mapping):
        headers = {name: str(title) for name, title in columns.items()}
    else:
        headers = {name: str(name) for name in columns}
    missing = [name for name in headers if name not in frame.columns]
    if missing:
        raise KeyError(f"markdown_table: no column(s) {', '.join(map(str, missing))} in the frame")
    formats = dict(formats or {})
    align = dict(align or {})
    unformatted = [name for name in markdown_columns if name not in formats]
    if unformatted:
        raise ValueError(f"markdown_table: markdown column(s) {', '.join(unformatted)} need a formatter")

    widths = dict(widths or {})
    header_cells, rule_cells = [], []
    for name, title in headers.items():
        side = align.get(name) or ("right" if pd.api.types.is_numeric_dtype(frame[name]) else "left")
        header_cells.append(escape_markdown(title))
        dashes = "-" * max(int(widths.get(name, 3)), 3)
        rule_cells.append({"left": f":{dashes}", "right": f"{dashes}:", "center": f":{dashes}:"}[side])
    lines = ["| " + " | ".join(header_cells) + " |", "|" + "|".join(rule_cells) + "|"]
    for _, row in frame.iterrows():
        cells = [
            _format_cell(row[name], formats.get(name), digits)
            if name in markdown_columns
            else escape_markdown(_format_cell(row[name], formats.get(name), digits))
            for name in headers
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return Markdown("\n".join(lines) + "\n")
