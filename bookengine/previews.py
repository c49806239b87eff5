"""Previews of cross-reference and citation targets, as Quarto books show them on hover.

One small JS file (``site_libs/previews.js``, like the search index) maps every target a link can
point to, ``"chapters/x.html#fig-a"``, to a title and a short HTML body: a figure's or a table's
caption, a section's or a chapter's first paragraph, a reference's entry. The site's script shows
it on hover or keyboard focus; nothing is fetched, so it works from ``file://`` too.
"""

from __future__ import annotations

import html
import json
import re

from bookengine.search import plain_text

FIGURE = re.compile(r'<figure id="(?P<id>fig-[^"]+)"[^>]*>.*?<figcaption>(?P<caption>.*?)</figcaption>', re.S)
TABLE = re.compile(r'<div id="(?P<id>tbl-[^"]+)"[^>]*>.*?<caption>(?P<caption>.*?)</caption>', re.S)
HEADING = re.compile(r'<h(?P<level>[1-3]) id="(?P<id>sec-[^"]+)"[^>]*>(?P<title>.*?)</h(?P=level)>', re.S)
REFERENCE = re.compile(r'<div id="(?P<id>ref-[^"]+)" class="csl-entry"[^>]*>(?P<entry>.*?)</div>', re.S)
PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.S)
LABEL = re.compile(r"^(?:<p>)?\s*(Figure|Table)(?:\u00a0|&nbsp;|&#160;| )(\S+?):\s*", re.S)
UNLINK = re.compile(r"</?a\b[^>]*>")
PREVIEW_CHARS = 320
"""Characters of a section's first paragraph a preview shows."""


def _inline(fragment: str) -> str:
    """A caption or entry as preview HTML: its links unwrapped (a preview holds no links of its own)."""
    return UNLINK.sub("", fragment).strip()


def _captioned(kind: str, caption: str) -> dict[str, str]:
    """Title ("Figure 3.2") and body (the caption's text after its label) of a figure or table."""
    body = _inline(caption)
    label = LABEL.match(body)
    if not label:
        return {"title": kind, "html": body}
    rest = body[label.end():]
    return {"title": f"{label[1]} {label[2]}", "html": f"<p>{rest}" if body.startswith("<p>") else rest}


def _excerpt(text: str) -> str:
    if len(text) <= PREVIEW_CHARS:
        return text
    return text[:PREVIEW_CHARS].rsplit(" ", 1)[0] + "\u2026"


def page_previews(url: str, fragment: str) -> dict[str, dict[str, str]]:
    """``{"url#id": {"title", "html"}}`` for the figures, tables, sections and references of one page."""
    found: dict[str, dict[str, str]] = {}
    for match in FIGURE.finditer(fragment):
        found[f"{url}#{match['id']}"] = _captioned("Figure", match["caption"])
    for match in TABLE.finditer(fragment):
        found[f"{url}#{match['id']}"] = _captioned("Table", match["caption"])
    for match in HEADING.finditer(fragment):
        paragraph = PARAGRAPH.search(fragment, match.end())
        text = _excerpt(plain_text(paragraph.group(1))) if paragraph else ""
        found[f"{url}#{match['id']}"] = {"title": plain_text(match["title"]),
                                         "html": f"<p>{html.escape(text, quote=False)}</p>" if text else ""}
    for match in REFERENCE.finditer(fragment):
        found[f"{url}#{match['id']}"] = {"title": "Reference", "html": _inline(match["entry"])}
    return found


def previews_script(previews: dict[str, dict[str, str]]) -> str:
    """JavaScript that defines ``window.ATLAS_PREVIEWS``."""
    payload = json.dumps(previews, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.ATLAS_PREVIEWS = {payload};\n"
