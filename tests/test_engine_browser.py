"""The minibook's site in headless Chromium: no console errors, no request to another host,
charts draw marks with tooltips, search works, navigation and internal links resolve, and
markup in the data stays text."""

from __future__ import annotations

import re

import pytest
from browser import broken_internal_links, check_pages, open_page, served

from bookengine.build import build

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def minibook_site(tmp_path_factory, vega_bundle):
    from test_engine_build import copy_minibook  # noqa: PLC0415 - shared helper

    root = copy_minibook(tmp_path_factory.mktemp("browser") / "minibook", vega_bundle)
    build(root, pdf_output=False)
    return root / "_book"


def test_minibook_pages_in_chromium(minibook_site, browser):
    assert broken_internal_links(minibook_site) == []
    with served(minibook_site) as base:
        marks = check_pages(browser, minibook_site, base)
    assert len(marks["chapters/growth.html"]) == 1 and marks["chapters/growth.html"][0] >= 4


def test_minibook_search_finds_a_word(minibook_site, browser):
    with served(minibook_site) as base:
        page, log = open_page(browser, base)
        page.goto(base + "index.html")
        page.fill("#search-input", "zeppelin")
        result = page.locator("#search-results a").first
        result.wait_for(timeout=5000)
        assert "chapters/tables.html" in (result.get_attribute("href") or "")
        result.click()
        page.wait_for_load_state("load")
        assert page.url.split("#")[0] == base + "chapters/tables.html"
        log.close()
    assert log.errors == [] and log.foreign == []


def test_code_is_folded_with_a_toggle(minibook_site, browser):
    with served(minibook_site) as base:
        page, log = open_page(browser, base)
        page.goto(base + "chapters/growth.html")
        folds = page.locator("main details.code-fold")
        assert folds.count() >= 1
        assert folds.evaluate_all("ds => ds.filter(d => d.open).length") == 0
        code = folds.first.locator("pre")
        assert not code.is_visible()
        folds.first.locator("summary").click()
        assert code.is_visible() and "read_csv" in code.inner_text()
        folds.first.locator("summary").click()
        assert not code.is_visible()
        log.close()
    assert log.errors == []


def test_markup_in_data_is_text_in_the_browser(minibook_site, browser):
    with served(minibook_site) as base:
        page, log = open_page(browser, base)
        page.goto(base + "chapters/tables.html")
        assert "<script>alert(1)</script>" in page.locator("table").inner_text()
        page.goto(base + "chapters/growth.html")
        # the point with markup in its name has the highest compute: the last mark
        marks = page.locator(".atlas-chart svg [role='graphics-symbol']")
        marks.first.wait_for(timeout=15000)
        marks.last.hover(force=True)
        tooltip = page.locator("#vg-tooltip-element")
        tooltip.wait_for(state="visible", timeout=5000)
        assert "<script>alert(1)</script>" in tooltip.inner_text()
        assert re.search(r"<script", tooltip.inner_html()) is None
        log.close()
    assert log.errors == []  # includes dialogs: an executed alert() would be one
