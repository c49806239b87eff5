"""The real book's site as a reader sees it (headless Chromium, one browser for the session, one
build shared through ``conftest.real_book``), its internal links, and the PDF's contents."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from browser import broken_internal_links, check_pages, hover_until_tooltip, internal_links, open_page, served
from pypdf import PdfReader

from bookengine.config import load_config

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 390, "height": 844}
CHARTS_FITTED = "[...document.querySelectorAll('.atlas-chart')].every(c => c.hasAttribute('data-fitted'))"
FITTED_VARIANTS = "charts => charts.map(c => c.getAttribute('data-fitted'))"


@pytest.fixture(scope="module")
def site(real_book) -> Path:
    return real_book.output


@pytest.fixture(scope="module")
def base(site):
    with served(site) as url:
        yield url


def chapter_pages() -> list[str]:
    """Site paths of the numbered chapters (the first document is the unnumbered preface)."""
    return [rel.rsplit(".", 1)[0] + ".html" for rel in load_config(ROOT).chapters[1:]]


def main_words(html: str) -> Counter:
    """Lower-case words of a page's ``<main>`` prose (scripts, SVG, folded code and tags removed)."""
    body = html.split("<main", 1)[1].split("</main>", 1)[0]
    body = re.sub(r"<(script|style|svg|math|details)\b.*?</\1>", " ", body, flags=re.S)
    return Counter(re.findall(r"[a-z]+", re.sub(r"<[^>]+>", " ", body).lower()))


def test_no_broken_internal_link_including_data_and_pdf(site):
    links = internal_links(site)
    assert broken_internal_links(site) == []
    targets = {link.split("#")[0].rsplit("/", 1)[-1] for _, link in links}
    assert any(t.endswith(".pdf") for t in targets), "no page links to the PDF"
    assert sum(t.endswith(".csv") for t in targets) >= 5, "chapters do not link their data CSVs"
    assert sum("#" in link for _, link in links) > 50  # cross-references and citations were checked too


def test_every_heading_has_an_id_and_sections_are_in_the_contents(site):
    for path in site.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        body = html.split("<main", 1)[1].split("</main>", 1)[0]
        heads = [(level, attrs) for level, attrs in re.findall(r"<h([23])([^>]*)>", body) if "unlisted" not in attrs]
        assert all(re.search(r'\bid="[^"]+"', attrs) for _, attrs in heads), path.name
        toc = re.search(r'<ol class="sections">.*?</ol>', html, re.S)
        contents = set(re.findall(r'href="#([^"]+)"', toc.group(0))) if toc else set()
        sections = [re.search(r'\bid="([^"]+)"', attrs).group(1) for level, attrs in heads if level == "2"]
        assert set(sections) <= contents, (path.name, set(sections) - contents)
    data = (site / "appendices" / "data.html").read_text(encoding="utf-8")
    assert 'href="#sec-approximate-rows"' in data and 'href="#sec-external-runs"' in data


def test_every_chapter_links_its_data_files(site):
    from bookengine.qmd import parse_text

    for rel in load_config(ROOT).chapters[1:]:
        declared = parse_text((ROOT / rel).read_text(encoding="utf-8"), ROOT / rel).meta.get("data-files") or []
        assert declared, f"{rel} declares no data files"
        page = (site / (rel.rsplit(".", 1)[0] + ".html")).read_text(encoding="utf-8")
        section = page.split('class="chapter-data"', 1)[1].split("</section>", 1)[0]
        for data_file in declared:
            assert f'href="{data_file}"' in section
            assert (site / Path(rel).parent / data_file).resolve().is_file()


def test_every_page_in_chromium(site, base, browser):
    marks = check_pages(browser, site, base)
    assert len(marks) == len(list(site.rglob("*.html")))
    for chapter in chapter_pages():
        assert marks[chapter], f"{chapter} shows no chart"
    assert sum(len(counts) for counts in marks.values()) >= 5


def test_tooltip_appears_on_hover(site, base, browser):
    import pandas as pd

    page, log = open_page(browser, base)
    page.goto(base + chapter_pages()[0])
    text = hover_until_tooltip(page, marks="svg .mark-symbol.role-mark path")
    log.close()
    labels = pd.read_csv(ROOT / "data" / "glue_pretraining.csv")["label"]
    assert any(label in text for label in labels), text  # the hovered model, named
    assert re.search(r"\d", text), text  # and its values
    assert log.errors == [] and log.foreign == []


def test_search_finds_a_word_from_chapter_5(site, base, browser):
    chapter5 = chapter_pages()[4]
    words = {page.relative_to(site).as_posix(): main_words(page.read_text(encoding="utf-8"))
             for page in site.rglob("*.html")}
    elsewhere = Counter()
    for name, counter in words.items():
        if name != chapter5:
            elsewhere.update(counter)
    # a prose word of chapter 5 that no other page uses, so the right answer is known in advance
    word = max((w for w in words[chapter5] if len(w) >= 7 and w not in elsewhere), key=lambda w: (words[chapter5][w], w))
    page, log = open_page(browser, base)
    page.goto(base + "index.html")
    page.fill("#search-input", word)
    results = page.locator("#search-results a")
    results.first.wait_for(timeout=5000)
    hrefs = [a.split("#")[0] for a in results.evaluate_all("links => links.map(a => a.href)")]
    assert hrefs and set(hrefs) == {base + chapter5}, (word, hrefs)
    snippets = page.locator("#search-results .snippet").all_inner_texts()
    assert not any("Download:" in text for text in snippets), snippets
    with page.expect_navigation():
        page.press("#search-input", "Enter")  # Enter opens the first result
    assert page.url.split("#")[0] == base + chapter5
    assert word in page.locator("main").inner_text().lower()
    log.close()
    assert log.errors == []


def test_pages_fit_a_phone_and_the_menu_opens(site, base, browser):
    page, log = open_page(browser, base, viewport=PHONE, is_mobile=True, has_touch=True)
    for name in ["index.html", *chapter_pages(), "references.html"]:
        page.goto(base + name)
        page.wait_for_function(CHARTS_FITTED, timeout=15000)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} is {width} px wide on a {PHONE['width']} px phone"
        assert not page.locator("#sidebar").is_visible()
        assert set(page.eval_on_selector_all(".atlas-chart", FITTED_VARIANTS)) <= {"narrow"}, name
    # a table keeps short cells on one line and wraps its prose column: Table 4.3's rows are two lines at most
    page.goto(base + chapter_pages()[3] + "#tbl-exponents")
    rows = page.eval_on_selector_all("#tbl-exponents tbody tr", "rows => rows.map(r => r.getBoundingClientRect().height)")
    assert rows and max(rows) < 60, rows
    assert page.evaluate("(b => b.scrollWidth > b.clientWidth)(document.querySelector('#tbl-exponents .table-scroll'))")
    # a link to a figure leaves it below the sticky top bar
    page.goto(base + chapter_pages()[1] + "#fig-compression-summary")
    page.wait_for_function(CHARTS_FITTED, timeout=15000)
    bar = page.evaluate("document.querySelector('.topbar').getBoundingClientRect().bottom")
    assert page.evaluate("document.getElementById('fig-compression-summary').getBoundingClientRect().top") >= bar
    page.click(".menu-toggle")
    assert page.locator("#sidebar").is_visible()
    assert page.locator("#sidebar a[aria-current=page]").is_visible()
    log.close()
    assert log.errors == []


@pytest.mark.parametrize("width", [1300, 1024])
def test_desktop_columns_draw_every_chart_wide(site, base, browser, width):
    """A desktop column (768 px, or 688 px beside the sidebar of a 1024 px screen) draws the wide layout
    of every chart (legends at the side, panels side by side), narrowed to the column where needed."""
    page, log = open_page(browser, base, viewport={"width": width, "height": 900})
    for name in chapter_pages():
        page.goto(base + name)
        page.wait_for_function(CHARTS_FITTED, timeout=15000)
        assert set(page.eval_on_selector_all(".atlas-chart", FITTED_VARIANTS)) == {"wide"}, (name, width)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.eval_on_selector_all(".atlas-chart", "cs => cs.filter(c => c.querySelector('svg').getBoundingClientRect()"
                                         ".width > c.parentElement.clientWidth + 1).length") == 0, name
    log.close()
    assert log.errors == []


def test_dark_theme_is_legible(site, base, browser):
    page, log = open_page(browser, base, color_scheme="dark")
    page.goto(base + chapter_pages()[0])
    colours = page.evaluate("""() => {
        const luminance = c => { const [r, g, b] = c.match(/\\d+/g).map(Number).map(v => v / 255)
            .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const ratio = (a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        const bg = luminance(getComputedStyle(document.body).backgroundColor);
        const text = el => ratio(luminance(getComputedStyle(el).color), bg);
        return {bg, body: text(document.querySelector('main p')), link: text(document.querySelector('main p a')),
                caption: text(document.querySelector('figcaption')),
                download: text(document.querySelector('.atlas-chart-tools button'))};
    }""")
    log.close()
    assert colours["bg"] < 0.05  # a dark page
    assert min(colours["body"], colours["link"], colours["caption"], colours["download"]) >= 4.5, colours  # WCAG AA


def test_real_book_pdf(real_book):
    config = load_config(ROOT)
    reader = PdfReader(real_book.pdf)
    text = " ".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert "Contents" in text
    assert len(outline) >= len(config.documents)
    assert any(title.startswith("5 ") for title in outline)
    assert "Figure 5.1" in text and "Figure 1.1" in text
    assert "References" in outline
