"""Helpers for tests that open a built site in headless Chromium (Debian's ``/usr/bin/chromium``
through Playwright, never a downloaded browser).

The API, all small:

* ``served(folder)``: context manager serving ``folder`` on 127.0.0.1 (free port) in a thread;
  yields the base URL ending in ``/``.
* ``chromium()``: context manager yielding one launched Playwright ``Browser`` (tests share one
  through the session fixture ``browser`` in ``conftest.py``).
* ``open_page(browser, base, **context_options)``: a fresh context + page that records console
  errors and warnings, page errors, dialogs and every request to a host other than ``base`` (those are aborted);
  returns ``(page, log)``; call ``log.close()`` (or ``page.context.close()``) when done.
* ``internal_links(site)`` / ``broken_internal_links(site)``: every internal ``href``/``src`` of every
  page (fragments included) and the ones that do not resolve to a file or an element id.
* ``chart_marks(page)``: waits for every ``.atlas-chart`` of the page to draw and returns the number
  of data marks per chart.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
#: SVG items vega draws for data marks (axes and legends are graphics-symbols too, but not ``role-mark``).
DATA_MARKS = "svg .role-mark [role='graphics-symbol'], svg .role-mark path"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def served(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 while the block runs; yields ``http://127.0.0.1:PORT/``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium():
    """One headless Chromium (Playwright driving ``/usr/bin/chromium``); skips when it is missing (fails under CI)."""
    if not Path(CHROMIUM).is_file():
        from conftest import unavailable

        unavailable(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    """What a page did that a test should fail on."""

    context: object
    errors: list[str] = field(default_factory=list)   # console errors, uncaught exceptions, dialogs
    foreign: list[str] = field(default_factory=list)  # requests to any host other than the test server
    warnings: list[str] = field(default_factory=list)  # console warnings (Vega's about its specs among them)

    def close(self) -> None:
        self.context.close()


def open_page(browser, base: str, **context_options):
    """A new page in a fresh context that only reaches ``base``; returns ``(page, PageLog)``."""
    context = browser.new_context(**context_options)
    log = PageLog(context)

    def route(route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            log.foreign.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: log.errors.append(f"{page.url}: {m.text}") if m.type == "error"
            else log.warnings.append(f"{page.url}: {m.text}") if m.type == "warning" else None)
    page.on("pageerror", lambda e: log.errors.append(f"{page.url}: {e}"))
    page.on("dialog", lambda d: (log.errors.append(f"{page.url}: dialog {d.message}"), d.dismiss()))
    return page, log


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "link", "script", "img", "source", "iframe"):
                self.links.append(attrs[key])


def _parse(site: Path) -> dict[Path, _Links]:
    parsed = {}
    for page in sorted(site.rglob("*.html")):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        parsed[page] = parser
    return parsed


def internal_links(site: Path) -> list[tuple[str, str]]:
    """``(page, link)`` for every link of every page that stays inside the site (no scheme, no ``//``)."""
    return [(page.relative_to(site).as_posix(), link) for page, parser in _parse(site).items()
            for link in parser.links if not urlparse(link).scheme and not link.startswith("//")]


def broken_internal_links(site: Path) -> list[str]:
    """``"page: link"`` for every internal link whose file, or element id after ``#``, does not exist."""
    site = site.resolve()
    parsed = _parse(site)
    broken = []
    for page, parser in parsed.items():
        for link in parser.links:
            url = urlparse(link)
            if url.scheme or link.startswith("//"):
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            missing_anchor = url.fragment and target.suffix == ".html" and unquote(url.fragment) not in parsed[target].ids
            if not target.is_file() or not target.is_relative_to(site) or missing_anchor:
                broken.append(f"{page.relative_to(site)}: {link}")
    return broken


def chart_marks(page, timeout_ms: float = 15000) -> list[int]:
    """Number of drawn data marks in each ``.atlas-chart`` of ``page`` (waits for each to draw)."""
    counts = []
    charts = page.locator(".atlas-chart")
    for index in range(charts.count()):
        marks = charts.nth(index).locator(DATA_MARKS)
        marks.first.wait_for(state="attached", timeout=timeout_ms)
        counts.append(marks.count())
    return counts


def check_pages(browser, site: Path, base: str) -> dict[str, list[int]]:
    """Open every page of ``site`` (served at ``base``) and assert what every page must satisfy:
    no console error or warning, no request to another host, every chart draws data marks, and every sidebar
    and previous/next link resolves to a page of the site. Returns the mark counts per chart per page."""
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    page, log = open_page(browser, base)
    marks: dict[str, list[int]] = {}
    try:
        for name in pages:
            page.goto(base + name, wait_until="load")
            marks[name] = chart_marks(page)
            assert all(marks[name]), f"{name}: a chart drew no marks: {marks[name]}"
            for href in page.eval_on_selector_all("nav.page-nav a, #sidebar a", "links => links.map(a => a.href)"):
                target = href.split("#")[0]
                assert target.startswith(base) and (site / unquote(target[len(base):])).is_file(), f"{name}: {href}"
    finally:
        log.close()
    assert log.foreign == [], f"requests to other hosts: {log.foreign[:5]}"
    assert log.errors == [], log.errors[:5]
    assert log.warnings == [], log.warnings[:5]
    return marks


def hover_until_tooltip(page, chart_index: int = 0, tries: int = 12, marks: str = DATA_MARKS) -> str:
    """Hover items matching ``marks`` in one chart until vega-tooltip shows; returns the tooltip's text."""
    marks = page.locator(".atlas-chart").nth(chart_index).locator(marks)
    marks.first.wait_for(state="attached", timeout=15000)
    tooltip = page.locator("#vg-tooltip-element")
    count = marks.count()
    for index in sorted({round(i * (count - 1) / max(tries - 1, 1)) for i in range(tries)}, reverse=True):
        marks.nth(index).hover(force=True)
        try:
            tooltip.wait_for(state="visible", timeout=1000)
        except Exception:  # noqa: BLE001 - this mark has no tooltip (a rule or band); try the next one
            continue
        return tooltip.inner_text()
    raise AssertionError(f"no tooltip on any of {count} marks of chart {chart_index} of {page.url}")
