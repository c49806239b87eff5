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
                f'aria-label="{label}"><table{match["attrs"]}>{hidden}{match["rest"]}</table></div></div>')

    return TABLE.sub(wrap, fragment)


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
