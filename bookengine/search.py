"""The site's search index: one entry per page section, written as a small JS file so the
search box works from ``file://`` and from any static host without a server."""

from __future__ import annotations

import html
import json
import re

SECTION_SPLIT = re.compile(r"(?=<h[12][^>]*\bid=\")")
BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|ul|ol|dl|dt|dd|h[1-6]|table|caption|thead|tbody|tr|td|th|figure|figcaption|"
                       r"section|header|footer|nav|blockquote|pre|hr)\b[^>]*>", re.I)
TAG = re.compile(r"<[^>]+>")
SKIP = re.compile(r"<(script|style|svg|details|annotation)\b.*?</\1>"
                  r"|<div class=\"atlas-chart-tools\"[^>]*>.*?</div>", re.S | re.I)
"""Left out of the index: scripts, styles, SVG, folded code, the TeX source of math, and the download
buttons under every chart."""
SPACE_BEFORE = re.compile(r"\s+([,.;:!?)\]}’”])")
SPACE_AFTER = re.compile(r"([(\[{‘“])\s+")


def plain_text(fragment: str) -> str:
    """Visible text of an HTML fragment: a block's edges become spaces, inline markup none (math reads
    as its symbols, ``6ND``), and no space is left before punctuation."""
    text = TAG.sub("", BLOCK_TAG.sub(" ", SKIP.sub(" ", fragment)))
    text = re.sub(r"\s+", " ", html.unescape(text)).strip()
    return SPACE_AFTER.sub(r"\1", SPACE_BEFORE.sub(r"\1", text))


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
