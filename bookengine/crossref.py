"""Chapter-based numbering of chapters, sections, figures and tables, and resolution of
``@fig-``/``@tbl-``/``@sec-`` references into links ("Figure 3.2"), as Quarto books do.

The pass works on the Markdown source (outside code blocks) before pandoc sees it, so the
same numbers reach the HTML pages and the Typst document.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

from bookengine.errors import BuildError
from bookengine.qmd import Document, Markdown, split_fenced

HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)(?:[ \t]+\{(?P<attrs>[^{}]*)\})?[ \t]*#*[ \t]*$")
REF_BRACKET = re.compile(r"\[(?P<minus>-?)@(?P<label>(?:fig|tbl|sec)-[A-Za-z0-9_:-]*[A-Za-z0-9_])\]")
REF_BARE = re.compile(r"(?<![\w@\[\-])@(?P<label>(?:fig|tbl|sec)-[A-Za-z0-9_:-]*[A-Za-z0-9_])")
MAX_NUMBERED_LEVEL = 3
KIND_NAMES = {"fig": "Figure", "tbl": "Table", "sec": "Section"}


@dataclass(frozen=True)
class Target:
    """A numbered thing a reference can point to."""

    label: str
    kind: str  # "fig", "tbl", "sec", "chapter"
    number: str  # "" when unnumbered
    doc: str  # project-relative source path of the document that holds it
    title: str = ""

    def text(self, prefix: bool = True) -> str:
        if self.kind == "chapter":
            name = "Appendix" if self.number[:1].isalpha() else "Chapter"
        else:
            name = KIND_NAMES[self.kind]
        if not self.number:
            return self.title or name
        return f"{name}\u00a0{self.number}" if prefix else self.number


@dataclass
class ChapterInfo:
    """Numbering facts of one document."""

    rel: str
    title: str
    number: str  # "3", "A" or "" for unnumbered
    appendix: bool
    heading_numbers: list[str] = field(default_factory=list)  # one per ATX heading, in order
    figures: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)


def parse_attrs(attrs: str | None) -> tuple[str | None, list[str], dict[str, str]]:
    """Split a pandoc attribute string ``#id .class key="value"``."""
    identifier, classes, pairs = None, [], {}
    if not attrs:
        return identifier, classes, pairs
    for match in re.finditer(r'(#[^\s}]+)|(\.[^\s}]+)|([\w-]+)=("[^"]*"|\S+)|(?<!\S)(-)(?!\S)', attrs):
        if match.group(1):
            identifier = match.group(1)[1:]
        elif match.group(2):
            classes.append(match.group(2)[1:])
        elif match.group(3):
            pairs[match.group(3)] = match.group(4).strip('"')
        elif match.group(5):
            classes.append("unnumbered")
    return identifier, classes, pairs


DIV_LINE = re.compile(r"^(:{3,})\s*(\{[^}]*\}|[\w-]+)?\s*$")


def section_headings(lines: list[str], stack: list[bool]):
    """Yield ``(line index, match)`` for ATX headings that are sections.

    Headings inside a callout are its title, not sections. ``stack`` carries the open divs
    (True for callouts) across calls, so it works block by block.
    """
    for position, line in enumerate(lines):
        div = DIV_LINE.match(line)
        if div:
            if div.group(2):
                stack.append("callout-" in div.group(2))
            elif stack:
                stack.pop()
            continue
        match = HEADING.match(line)
        if match and not any(stack):
            yield position, match


def iter_headings(document: Document):
    """Yield ``(level, text, attrs, block index, line in block)`` for every section heading outside code."""
    stack: list[bool] = []
    for index, block in enumerate(document.blocks):
        if not isinstance(block, Markdown):
            continue
        offset = 0
        for chunk, fenced in split_fenced(block.text):
            if not fenced:
                for number, match in section_headings(chunk.splitlines(), stack):
                    yield len(match.group("hashes")), match.group("text"), match.group("attrs"), index, offset + number
            offset += chunk.count("\n")


def document_title(document: Document) -> str:
    """The chapter title: front matter ``title`` or the first level-1 heading."""
    if document.meta.get("title"):
        return str(document.meta["title"])
    for level, text, _attrs, _index, _line in iter_headings(document):
        if level == 1:
            return text.strip()
    return document.path.stem


def is_unnumbered(document: Document) -> bool:
    """Whether the chapter's level-1 heading (or front matter) carries ``.unnumbered``."""
    for level, _text, attrs, _index, _line in iter_headings(document):
        if level == 1:
            return "unnumbered" in parse_attrs(attrs)[1]
    classes = document.meta.get("classes") or []
    return "unnumbered" in classes


class Numbering:
    """Numbers and reference targets for a whole book (chapters, then appendices)."""

    def __init__(self, documents: list[tuple[str, Document, bool]]):
        self.chapters: dict[str, ChapterInfo] = {}
        self.targets: dict[str, Target] = {}
        chapter_count = 0
        appendix_count = 0
        for rel, document, appendix in documents:
            unnumbered = is_unnumbered(document)
            if unnumbered:
                number = ""
            elif appendix:
                number = string.ascii_uppercase[appendix_count % 26]
                appendix_count += 1
            else:
                chapter_count += 1
                number = str(chapter_count)
            info = ChapterInfo(rel=rel, title=document_title(document), number=number, appendix=appendix)
            counters = [0] * 7
            has_h1 = False
            for level, text, attrs, _index, _line in iter_headings(document):
                identifier, classes, _pairs = parse_attrs(attrs)
                if level == 1:
                    has_h1 = True
                    heading_number = number
                elif number and level <= MAX_NUMBERED_LEVEL and "unnumbered" not in classes:
                    counters[level] += 1
                    for deeper in range(level + 1, 7):
                        counters[deeper] = 0
                    heading_number = ".".join([number, *[str(c) for c in counters[2:level + 1]]])
                else:
                    heading_number = ""
                info.heading_numbers.append(heading_number)
                if identifier and identifier.startswith("sec-"):
                    kind = "chapter" if level == 1 else "sec"
                    self._add(Target(identifier, kind, heading_number, rel, text.strip()), rel)
            if not has_h1 and isinstance(document.meta.get("id"), str):
                self._add(Target(document.meta["id"], "chapter", number, rel, info.title), rel)
            figure_count = table_count = 0
            for cell in document.cells:
                label = cell.label or ""
                if label.startswith("fig-"):
                    figure_count += 1
                    info.figures[label] = f"{number}.{figure_count}" if number else str(figure_count)
                    self._add(Target(label, "fig", info.figures[label], rel), rel)
                elif label.startswith("tbl-"):
                    table_count += 1
                    info.tables[label] = f"{number}.{table_count}" if number else str(table_count)
                    self._add(Target(label, "tbl", info.tables[label], rel), rel)
            self.chapters[rel] = info

    def _add(self, target: Target, rel: str) -> None:
        if target.label in self.targets:
            other = self.targets[target.label].doc
            raise BuildError(f"{rel}: duplicate label '{target.label}' (also in {other})")
        self.targets[target.label] = target

    def resolve(self, text: str, rel: str, href: callable) -> str:
        """Replace references in non-code Markdown with links; ``href(target)`` gives the URL."""

        def link(label: str, prefix: bool) -> str:
            target = self.targets.get(label)
            if target is None:
                raise BuildError(f"{rel}: unknown cross-reference @{label}")
            return f"[{target.text(prefix)}]({href(target)})"

        pieces = []
        for chunk, fenced in split_fenced(text):
            if not fenced:
                chunk = _outside_inline_code(chunk, lambda part: REF_BARE.sub(
                    lambda m: link(m.group("label"), True),
                    REF_BRACKET.sub(lambda m: link(m.group("label"), not m.group("minus")), part)))
            pieces.append(chunk)
        return "".join(pieces)


def _outside_inline_code(text: str, transform) -> str:
    parts = re.split(r"(`+[^`]*?`+)", text)
    return "".join(part if index % 2 else transform(part) for index, part in enumerate(parts))


def number_headings(document_text: str, numbers, unnumbered_class: bool, stack: list[bool]) -> str:
    """Prefix each ATX heading with its number (``numbers`` in heading order).

    With ``unnumbered_class`` every heading also gets the ``unnumbered`` class, so a
    downstream writer does not add numbers of its own.
    """
    iterator = iter(numbers)
    output = []
    for chunk, fenced in split_fenced(document_text):
        if fenced:
            output.append(chunk)
            continue
        lines = chunk.split("\n")
        for position, match in list(section_headings(lines, stack)):
            number = next(iterator, "")
            text = match.group("text")
            if number:
                text = f"[{number}]{{.header-section-number}} {text}"
            attrs = (match.group("attrs") or "").strip()
            if unnumbered_class and "unnumbered" not in attrs:
                attrs = f"{attrs} .unnumbered".strip()
            lines[position] = f"{match.group('hashes')} {text}" + (f" {{{attrs}}}" if attrs else "")
        output.append("\n".join(lines))
    return "".join(output)
