"""The site's search index: one entry per page section, written as a small JS file so the
search box works from ``file://`` and from any static host without a server."""

from __future__ import annotations

import html
import json
import re

SECTION_SPLIT = re.compile(r"(?=<h[12][^>]*\bid=\")")
TAG = re.compile(r"<[^>]+>")
SKIP = re.compile(r"<(script|style|svg|math|details)\b.*?</\1>", re.S | re.I)


def plain_text(fragment: str) -> str:
    """Visible text of an HTML fragment (scripts, styles, SVG and folded code left out)."""
    text = TAG.sub(" ", SKIP.sub(" ", fragment))
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def page_entries(url: str, page_title: str, fragment: str) -> list[dict[str, str]]:
    """Split a page at its h1/h2 headings into search entries ``{url, title, section, text}``."""
    entries = []
    for part in SECTION_SPLIT.split(fragment):
        match = re.match(r'<h[12][^>]*\bid="([^"]+)"[^>]*>(.*?)</h[12]>', part, re.S)
        anchor = match.group(1) if match else ""
        section = plain_text(match.group(2)) if match else page_title
        text = plain_text(part[match.end():] if match else part)
        if not text and not match:
            continue
        entries.append({"url": url + (f"#{anchor}" if anchor else ""), "title": page_title,
                        "section": section, "text": text})
    return entries


def index_script(entries: list[dict[str, str]]) -> str:
    """JavaScript that defines ``window.ATLAS_SEARCH_INDEX``."""
    payload = json.dumps(entries, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.ATLAS_SEARCH_INDEX = {payload};\n"
