"""Site pages: HTML fragments from pandoc wrapped in Jinja2 templates with a sidebar,
previous/next links, search and downloads."""

from __future__ import annotations

import html
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import jinja2


def _template_root() -> Path:
    """The site and Typst templates: inside an installed wheel (``bookengine/_bundled/templates``, see
    ``setup.py``), else ``templates/`` of the checkout the package runs from."""
    package = Path(str(files("bookengine")))
    bundled = package / "_bundled" / "templates"
    return bundled if bundled.is_dir() else package.parent / "templates"


TEMPLATE_ROOT = _template_root()
TAG = re.compile(r"<[^>]+>")
MATH_SOURCE = re.compile(r"<annotation\b[^>]*>.*?</annotation>", re.S)
"""The TeX source pandoc keeps inside MathML, which is not text a reader sees."""
INLINE_MATH = re.compile(
    r"(?P<before>[(\[“‘]*)(?P<math><math display=\"inline\"[^>]*>.*?</math>)(?P<after>\xa0[^\s<]*|[,.;:!?)\]’”]+)?", re.S)
"""Inline MathML with the opening bracket before it and the punctuation, or the no-break space and word, after it."""
TRAILING_OPERATOR = re.compile(r"<mo>(?P<op>[^<]*)</mo>(?P<close>(?:</mrow>)*<annotation)")
"""The operator that ends a formula (``a =``), as pandoc writes it in MathML."""
CELL = re.compile(r"<(?P<tag>td|th)(?P<attrs>[^>]*)>(?P<content>.*?)</(?P=tag)>", re.S)
LONG_CELL_CHARS = 32
"""A table cell with more characters than this holds prose (a phone gives it a column of its own width to wrap in)."""
LONG_WORD_CHARS = 24
"""A cell with a word longer than this (a SHA-256, a path) may break that word anywhere."""
TABLE = re.compile(r"<table(?P<attrs>[^>]*)>\s*(?:<caption>(?P<caption>.*?)</caption>)?(?P<rest>.*?)</table>", re.S)


@dataclass
class Page:
    """One page of the site; ``url`` is relative to the site root (``chapters/ch1.html``)."""

    rel: str
    url: str
    number: str
    title: str
    body: str
    sections: list[tuple[str, str, str]] = field(default_factory=list)  # (id, number, text)
    data_files: list[str] = field(default_factory=list)
    appendix: bool = False


def page_url(rel: str) -> str:
    return posixpath.splitext(rel)[0] + ".html"


def relative(from_url: str, to_url: str) -> str:
    """Relative link from page ``from_url`` to ``to_url`` (both site-root relative)."""
    target, _, anchor = to_url.partition("#")
    base = posixpath.dirname(from_url) or "."
    path = posixpath.relpath(target, base) if target else posixpath.basename(from_url)
    return path + (f"#{anchor}" if anchor else "")


def strip_tags(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(TAG.sub("", MATH_SOURCE.sub("", fragment)))).strip()


def wrap_tables(fragment: str) -> str:
    """Give every table its own horizontally scrolling box, its caption fixed above the box.

    The caption is shown once above the box (so it never scrolls away with a wide table) and kept
    inside the table for screen readers (visually hidden); the box can be scrolled by keyboard.
    """

    def wrap(match: re.Match[str]) -> str:
        caption = match["caption"]
        label = html.escape(strip_tags(caption) if caption else "Table", quote=True)
        shown = f'<div class="table-caption" aria-hidden="true">{caption}</div>' if caption else ""
        hidden = f'<caption class="visually-hidden">{caption}</caption>' if caption else ""
        return (f'<div class="table-block">{shown}<div class="table-scroll" tabindex="0" role="region" '
                f'aria-label="{label}"><table{match["attrs"]}>{hidden}{CELL.sub(_mark_cell, match["rest"])}</table></div></div>')

    return TABLE.sub(wrap, fragment)


def _mark_cell(match: re.Match[str]) -> str:
    """A table cell classed by its text: ``long`` (prose, wraps in a column of its own width on a phone)
    and ``long-word`` (a word that may break anywhere, such as a checksum)."""
    text = strip_tags(match["content"])
    classes = [name for name, applies in (("long", len(text) > LONG_CELL_CHARS),
                                          ("long-word", max(map(len, text.split()), default=0) > LONG_WORD_CHARS))
               if applies]
    if not classes:
        return match.group(0)
    return f'<{match["tag"]} class="{" ".join(classes)}"{match["attrs"]}>{match["content"]}</{match["tag"]}>'


def bind_inline_math(fragment: str) -> str:
    """Keep inline math on one line with the bracket before it and the punctuation after it, and with the
    value after a formula that ends in a relation (``$a =$ 0.73``, bound by a no-break space): such a
    formula's operator loses its space on the right, so one no-break space separates it from the value."""

    def bind(match: re.Match[str]) -> str:
        before, math, after = match["before"], match["math"], match["after"] or ""
        if not before and not after:
            return math
        if after.startswith("\xa0"):
            math = TRAILING_OPERATOR.sub(r'<mo rspace="0">\g<op></mo>\g<close>', math, count=1)
        return f'<span class="math-bound">{before}{math}{after}</span>'

    return INLINE_MATH.sub(bind, fragment)


def headings(fragment: str) -> tuple[str, str, list[tuple[str, str, str]]]:
    """(chapter number, chapter title, [(id, number, text) of h2 sections]) of a fragment."""
    number, title = "", ""
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", fragment, re.S)
    if h1:
        num = re.search(r'<span class="header-section-number">(.*?)</span>', h1.group(1))
        number = strip_tags(num.group(1)) if num else ""
        title = strip_tags(h1.group(1).replace(num.group(0), "") if num else h1.group(1))
    sections = []
    for match in re.finditer(r'<h2[^>]*\bid="([^"]+)"[^>]*>(.*?)</h2>', fragment, re.S):
        inner = match.group(2)
        num = re.search(r'<span class="header-section-number">(.*?)</span>', inner)
        sections.append((match.group(1), strip_tags(num.group(1)) if num else "",
                         strip_tags(inner.replace(num.group(0), "") if num else inner)))
    return number, title, sections


def environment(project_templates: Path | None = None) -> jinja2.Environment:
    paths = [str(p) for p in (project_templates, TEMPLATE_ROOT / "site") if p and p.is_dir()]
    return jinja2.Environment(loader=jinja2.FileSystemLoader(paths), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def write_site(out: Path, pages: list[Page], *, book: dict, pdf_name: str | None,
               env: jinja2.Environment) -> None:
    """Render every page into ``out`` and copy the site's static files into ``out/site_libs``."""
    template = env.get_template("page.html.j2")
    for index, page in enumerate(pages):
        root = relative(page.url, "index.html")[: -len("index.html")]
        previous_page = pages[index - 1] if index > 0 else None
        next_page = pages[index + 1] if index + 1 < len(pages) else None
        text = template.render(
            book=book, page=page, pages=pages, root=root,
            link=lambda url, _page=page: relative(_page.url, url),
            previous_page=previous_page, next_page=next_page, pdf_name=pdf_name,
        )
        target = out / page.url
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    static = TEMPLATE_ROOT / "site" / "static"
    shutil.copytree(static, out / "site_libs", dirs_exist_ok=True)
