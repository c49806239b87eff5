"""The book shows its code on the site, folded under a toggle, and none in the PDF (issue 5)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.qmd"))


class _Folds(HTMLParser):
    """Collects each ``details.code-fold``: whether it is open and the code inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.folds: list[dict[str, object]] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "details" and "code-fold" in (attributes.get("class") or "").split():
            self.folds.append({"open": "open" in attributes, "code": ""})
            self._depth = 1
        elif tag == "details" and self._depth:
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "details" and self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.folds[-1]["code"] = str(self.folds[-1]["code"]) + data


def _cells(source: str) -> list[str]:
    return re.findall(r"```\{python\}\n(.*?)```", source, flags=re.S)


def test_figure_and_table_cells_show_short_code_and_setup_cells_hide_theirs() -> None:
    for chapter in CHAPTERS:
        for cell in _cells(chapter.read_text(encoding="utf-8")):
            label = re.search(r"#\| label: (\S+)", cell)
            code = [line for line in cell.splitlines() if line.strip() and not line.startswith("#|")]
            if label and label.group(1).startswith(("fig-", "tbl-")):
                assert "#| echo: false" not in cell, f"{chapter.name}: {label.group(1)} hides its code"
                assert len(code) <= 12, f"{chapter.name}: {label.group(1)} shows {len(code)} lines of code"
            elif label and label.group(1).startswith("setup-"):
                assert "#| echo: false" in cell, f"{chapter.name}: {label.group(1)} would show its imports"


def test_site_folds_the_code_closed_and_the_pdf_has_none(real_book) -> None:
    for chapter in CHAPTERS:
        page = real_book.output / "chapters" / chapter.with_suffix(".html").name
        parser = _Folds()
        parser.feed(page.read_text(encoding="utf-8"))
        expected = sum(bool(re.search(r"#\| label: (fig|tbl)-", cell)) for cell in _cells(chapter.read_text(encoding="utf-8")))
        assert len(parser.folds) == expected, f"{page.name}: {len(parser.folds)} folds, {expected} figure/table cells"
        assert not any(fold["open"] for fold in parser.folds), f"{page.name}: a fold is open by default"
        assert all("(" in str(fold["code"]) for fold in parser.folds)  # each shows a call
        assert "from analysis" not in "".join(str(fold["code"]) for fold in parser.folds)  # setup stays hidden
    text = "".join(page.extract_text() for page in PdfReader(real_book.pdf).pages)
    for code in ("markdown_table(", "ch.epoch_fits", "import analysis", "#| label"):
        assert code not in text, f"the PDF shows code: {code!r}"
