"""The minibook's site in headless Chromium: no console errors, no request to another host,
charts draw marks with tooltips, search works, navigation and internal links resolve."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from bookengine.build import build

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(folder: Path):
    """Serve ``folder`` on 127.0.0.1 in a thread; returns (server, base URL)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "link", "script", "img"):
                self.links.append(attrs[key])


def broken_internal_links(site: Path) -> list[str]:
    """Every internal href/src (with #fragment) in every page that does not resolve."""
    parsed: dict[Path, _Links] = {}
    for page in site.rglob("*.html"):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        parsed[page] = parser
    broken = []
    for page, parser in parsed.items():
        for link in parser.links:
            url = urlparse(link)
            if url.scheme or link.startswith("//"):
                continue
            target = (page.parent / url.path).resolve() if url.path else page
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {link}")
            elif url.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else set()
                if url.fragment not in ids:
                    broken.append(f"{page.relative_to(site)}: {link}")
    return broken


def check_site(site: Path, *, search_word: str, search_page: str, min_charts: int) -> None:
    """Open every page of ``site`` in Chromium and check what the issue asks for."""
    from playwright.sync_api import sync_playwright

    assert broken_internal_links(site) == []
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    server, base = serve(site)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context()
            foreign: list[str] = []
            context.route("**/*", lambda route: (foreign.append(route.request.url), route.abort())
                          if not route.request.url.startswith(base) else route.continue_())
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
            page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
            charts = 0
            for name in pages:
                page.goto(base + name, wait_until="load")
                count = page.locator(".atlas-chart").count()
                for index in range(count):
                    chart = page.locator(".atlas-chart").nth(index)
                    chart.locator("svg .mark-symbol path, svg .mark-rect path, svg .mark-line path, svg path[role='graphics-symbol']").first.wait_for(timeout=15000)
                    marks = chart.locator("svg [role='graphics-symbol'], svg .role-mark path")
                    assert marks.count() > 0, f"{name}: chart {index} drew no marks"
                charts += count
                for link in page.locator("nav.page-nav a, #sidebar a").all():
                    href = link.get_attribute("href") or ""
                    target = urljoin(base + name, href).split("#")[0]
                    assert target.startswith(base) and (site / target[len(base):]).is_file(), f"{name}: {href}"
            assert charts >= min_charts
            # a tooltip appears on hover and shows markup from the data as text
            page.goto(base + "chapters/growth.html" if (site / "chapters/growth.html").is_file() else base + pages[0])
            if page.locator(".atlas-chart").count():
                # an item of a data mark (axes and legends are graphics-symbols too, without tooltips)
                mark = page.locator(".atlas-chart svg .role-mark [role='graphics-symbol']").last
                mark.wait_for(timeout=15000)
                mark.hover(force=True)
                tooltip = page.locator("#vg-tooltip-element")
                tooltip.wait_for(state="visible", timeout=5000)
                assert tooltip.inner_text().strip()
            # search finds a word
            page.goto(base + "index.html")
            page.fill("#search-input", search_word)
            result = page.locator("#search-results a").first
            result.wait_for(timeout=5000)
            assert search_page in (result.get_attribute("href") or "")
            result.click()
            page.wait_for_load_state("load")
            assert search_page in page.url
            browser.close()
    finally:
        server.shutdown()
    assert foreign == [], f"requests to other hosts: {foreign[:5]}"
    assert errors == [], errors[:5]


@pytest.fixture(scope="module")
def minibook_site(tmp_path_factory):
    from test_engine_build import copy_minibook  # noqa: PLC0415 - shared helper
    import vl_convert

    bundle = tmp_path_factory.mktemp("vega") / "vega-bundle.js"
    bundle.write_text(vl_convert.javascript_bundle(), encoding="utf-8")
    root = copy_minibook(tmp_path_factory.mktemp("browser") / "minibook", bundle)
    build(root, pdf_output=False)
    return root / "_book"


def test_minibook_site_in_chromium(minibook_site):
    check_site(minibook_site, search_word="zeppelin", search_page="chapters/tables.html", min_charts=1)


def test_markup_in_data_is_text_in_the_browser(minibook_site):
    from playwright.sync_api import sync_playwright

    server, base = serve(minibook_site)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(base + "chapters/tables.html")
            assert "<script>alert(1)</script>" in page.locator("table").inner_text()
            page.goto(base + "chapters/growth.html")
            marks = page.locator(".atlas-chart svg [role='graphics-symbol']")
            marks.first.wait_for(timeout=15000)
            # the point with markup in its name has the highest compute: the last mark
            marks.last.hover(force=True)
            tooltip = page.locator("#vg-tooltip-element")
            tooltip.wait_for(state="visible", timeout=5000)
            assert "<script>alert(1)</script>" in tooltip.inner_text()
            assert re.search(r"<script", tooltip.inner_html()) is None
            browser.close()
    finally:
        server.shutdown()
    assert dialogs == []
