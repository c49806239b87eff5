"""analysis.tables.markdown_table: escaped pipe tables that pandoc reads as real tables."""

from __future__ import annotations

import re

import pandas as pd
import pypandoc
import pytest

from analysis.tables import escape_markdown, format_number, markdown_table

HOSTILE = "<script>alert(1)</script>"


def test_hostile_text_is_shown_as_text_in_html_and_typst() -> None:
    frame = pd.DataFrame({"name": [HOSTILE, "a|b *x* [@key] $x$"], "score": [82.14, 79.0]})
    markdown = markdown_table(frame, columns={"name": "Model", "score": "GLUE"}).data
    page = pypandoc.convert_text(markdown, "html", format="markdown")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a|b *x* [@key] $x$" in page  # no emphasis, citation, math or extra column
    assert page.count("<tr") == 3
    typst = pypandoc.convert_text(markdown, "typst", format="markdown")
    assert "columns: 2" in typst


def test_numbers_and_alignment() -> None:
    frame = pd.DataFrame({"n": [12000, 3], "x": [0.123456, 1.5e21], "label": ["p", "q"]})
    markdown = markdown_table(frame).data.splitlines()
    assert markdown[1] == "|---:|---:|:---|"
    assert "12,000" in markdown[2] and "0\\.123" in markdown[2]
    assert "1\\.50\u00a0×\u00a010²¹" in markdown[3]
    assert format_number(float("nan")) == "–"
    assert format_number(84.0, digits=3) == "84.0"
    assert format_number(1234.5678, digits=4) == "1,235"


def test_columns_formatters_and_markdown_columns() -> None:
    frame = pd.DataFrame({"key": ["clark2020electra"], "v": [1.0]})
    table = markdown_table(
        frame, columns={"key": "Source"}, formats={"key": lambda k: f"[@{k}]"}, markdown_columns=["key"]
    ).data
    assert "[@clark2020electra]" in table
    with pytest.raises(ValueError):
        markdown_table(frame, markdown_columns=["v"])
    with pytest.raises(KeyError):
        markdown_table(frame, columns=["missing"])
    assert escape_markdown("a\nb") == "a b"


def test_a_cell_has_the_typographic_apostrophe_of_the_running_text() -> None:
    # Pandoc makes apostrophes curly in prose, but not an escaped one: the cell writes it curly itself,
    # and leaves a quotation mark around a word as a quotation mark.
    page = pypandoc.convert_text(markdown_table(pd.DataFrame({"t": ["Hoffmann et al.'s 'Kaplan law' (the authors' code)"]})).data,
                                 "html", format="markdown")
    assert "Hoffmann et al.’s" in page and "'Kaplan law'" in page.replace("&#39;", "'") and "authors’ code" in page


def test_relative_widths_reach_pandoc() -> None:
    frame = pd.DataFrame({"a": ["x"], "b": ["a long cell " * 12]})
    markdown = markdown_table(frame, widths={"a": 10, "b": 90}).data
    assert markdown.splitlines()[1] == "|:" + "-" * 10 + "|:" + "-" * 90 + "|"
    page = pypandoc.convert_text(markdown, "html", format="markdown")
    widths = [int(w) for w in re.findall(r'<col style="width: (\d+)%"', page)]
    assert widths[0] == 10 and widths[1] >= 85
