"""The real book's site and PDF: every page in headless Chromium (see test_engine_browser),
no broken internal link, and the PDF's contents. Skips while the book is incomplete."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from bookengine.build import build
from bookengine.config import load_config
from bookengine.errors import BuildError

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _book():
    try:
        config = load_config(ROOT)
    except BuildError as error:
        pytest.skip(f"the real book is not complete: {error}")
    if len(config.chapters) < 6:
        pytest.skip("the real book has fewer than five chapters")
    return config


@pytest.fixture(scope="module")
def real_site(tmp_path_factory):
    config = _book()
    output = tmp_path_factory.mktemp("site") / "_book"
    report = build(ROOT, output_dir=str(output))
    yield config, report
    shutil.rmtree(output, ignore_errors=True)


def test_real_book_in_chromium(real_site):
    from test_engine_browser import check_site

    config, report = real_site
    chapter5 = config.chapters[5].rsplit(".", 1)[0] + ".html"
    words = (ROOT / config.chapters[5]).read_text(encoding="utf-8").split()
    word = next(w for w in words if w.isalpha() and len(w) > 9)  # a long prose word from chapter 5
    check_site(report.output, search_word=word, search_page=chapter5.rsplit("/", 1)[-1], min_charts=5)


def test_real_book_pdf(real_site):
    config, report = real_site
    reader = PdfReader(report.pdf)
    text = " ".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert "Contents" in text
    assert len(outline) >= len(config.documents)
    assert any(title.startswith("5 ") for title in outline)
    assert "Figure 5.1" in text and "Figure 1.1" in text
    assert "References" in outline
