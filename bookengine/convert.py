"""Turning a parsed chapter plus its execution results into Markdown for one output format,
and Markdown into an HTML fragment or Typst markup with pandoc (``pypandoc-binary``)."""

from __future__ import annotations

import base64
import hashlib
import os
import posixpath
import re
import subprocess
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path
from typing import Any

from bookengine.crossref import HEADING, ChapterInfo, Numbering, number_headings, parse_attrs
from bookengine.errors import BuildError
from bookengine.pdf import chart_pdf
from bookengine.qmd import INLINE_EXPR, Cell, Document, Markdown, split_fenced

# The one MIME type of a cell output each format shows, in Quarto's order of preference for
# Jupyter outputs. Left out: Jupyter widget types (the engine cannot draw them) and the HTML table
# Quarto's PDF would take after the images; `python -m bookengine.lint` rejects both.
HTML_PREFERENCE = ("application/javascript", "text/html", "text/markdown", "image/svg+xml", "image/png",
                   "image/jpeg", "text/plain")
TYPST_PREFERENCE = ("text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/plain")
FORMAT_NAMES = {"html": frozenset({"html", "html4", "html5"}), "typst": frozenset({"typst"})}
"""The ``when-format``/``unless-format`` values that name each format, as Quarto matches them."""
CONDITIONAL_CLASSES = ("content-visible", "content-hidden")
CALLOUT_TITLES = {"note": "Note", "tip": "Tip", "warning": "Warning", "important": "Important", "caution": "Caution"}
DIV_FENCE = re.compile(r"^(?P<colons>:{3,})\s*(?P<attrs>\{[^}]*\}|[\w-]+)?\s*$")
SITE_COLUMN_PX = 768
"""Width of the site's text column (atlas.css: ``main`` is 52rem wide with 2rem padding each side). A chart
takes the same share of the PDF's text width as it takes of that column, so its text prints at one size."""
SVG_WIDTH = re.compile(r'<svg\b[^>]*?\swidth="(?P<px>[\d.]+)(?:px)?"')
IMAGE = re.compile(r"^!\[[^\]]*\]\((?P<target>[^)]+)\)(?:\{width=(?P<width>[\d.]+%)\})?$")
MARKDOWN_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<target>[^)\s]+)\)(?P<attrs>\{[^}]*\})?")
TYPST_LINK = re.compile(r'#link\("(?P<target>(?:[^"\\]|\\.)*)"\)')
"""A link in pandoc's Typst output; its target is a Typst string (a label target is ``<label>``, no match)."""
EXTERNAL_TARGET = re.compile(r"^[a-zA-Z][\w+.-]*:|^/|^#")
# In pandoc's Typst (one paragraph a line, --wrap=none): a paragraph of running text ending in a colon, then,
# after a blank line, a code block, list, display equation or block (what the colon introduces).
INTRODUCTION = re.compile(r"^(?P<paragraph>[^\s#\-+=\]<$/`|][^\n]*:)\n\n(?=```|[-+] |\$ |#block\[|#\[|#figure\()",
                          re.MULTILINE)
CODE_SPAN_OR_MATH = re.compile(
    r"(?P<code>`+).*?(?P=code)"
    r"|(?<![\\$])\$(?=[^\s$])(?P<math>[^$\n]*?)(?<=\S)\$(?![$\d])(?P<space>[ \t]*\n[ \t]*(?=\S)|[ \t]+)?",
    re.DOTALL)
"""A code span, or inline math (pandoc's rules) with the space after it."""
RELATION_END = re.compile(r"(?:[=<>]|\\approx|\\propto|\\sim|\\[lg]eq?)\s*$")
MARKDOWN_ESCAPE = re.compile(r"([\\`*_{}\[\]<>#+\-!|$~^&@\"'])")

WriteAsset = Callable[[str, bytes], str]


def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


PANDOC_CACHE: ContextVar[Path | None] = ContextVar("PANDOC_CACHE", default=None)


def _pandoc_key(markdown: str, args: list[str]) -> str:
    """Hash of everything pandoc's output depends on: input, arguments, bibliography/CSL files."""
    digest = hashlib.sha256(pandoc_path().encode())
    for index, arg in enumerate(args):
        digest.update(arg.encode() + b"\0")
        if index and args[index - 1] in ("--bibliography", "--csl"):
            digest.update(Path(arg).read_bytes())
    digest.update(markdown.encode("utf-8"))
    return digest.hexdigest()


def run_pandoc(markdown: str, args: list[str], where: str) -> str:
    """Run pandoc on ``markdown`` (stdin) and return stdout; a failure names ``where``.

    When :data:`PANDOC_CACHE` is set (the build's cache folder), results are reused for
    identical input, so a no-change rebuild runs no pandoc at all.
    """
    cache = PANDOC_CACHE.get()
    cached = cache / _pandoc_key(markdown, args) if cache else None
    if cached is not None and cached.is_file():
        return cached.read_text(encoding="utf-8")
    process = subprocess.run([pandoc_path(), *args], input=markdown.encode("utf-8"), capture_output=True)
    if process.returncode != 0:
        message = process.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BuildError(f"{where}: pandoc failed: {message[-1] if message else process.returncode}")
    text = process.stdout.decode("utf-8")
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".tmp{os.getpid()}")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(cached)
    return text


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown punctuation so plain text stays plain text."""
    return MARKDOWN_ESCAPE.sub(r"\\\1", text)


def bind_relations(markdown: str) -> str:
    """A no-break space after inline math that ends in a relation, so ``$a =$ 0.73`` never breaks
    between the sign and its value (code blocks and code spans are left alone)."""

    def bind(match: re.Match[str]) -> str:
        if match["code"] or not match["space"] or not RELATION_END.search(match["math"]):
            return match.group(0)
        return f"${match['math']}$\\ "

    return "".join(chunk if fenced else CODE_SPAN_OR_MATH.sub(bind, chunk) for chunk, fenced in split_fenced(markdown))


def _fence(text: str, info: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip(chr(10))}\n{fence}\n"


def select_format_content(markdown: str, fmt: str) -> str:
    """Resolve Quarto's conditional content for ``fmt`` (``"html"`` or ``"typst"``).

    A div with class ``content-visible`` or ``content-hidden`` and a ``when-format`` or
    ``unless-format`` condition is replaced by its content where it is shown and dropped where
    it is not, as Quarto does; other divs and code blocks pass through. Profile conditions never
    match (the engine has no profiles).
    """
    names = FORMAT_NAMES[fmt]
    out: list[str] = []
    stack: list[tuple[bool, bool]] = []  # (conditional, shown) for every open div

    def shown() -> bool:
        return all(visible for _conditional, visible in stack)

    for chunk, fenced in split_fenced(markdown):
        if fenced:
            if shown():
                out.append(chunk)
            continue
        for line in chunk.splitlines(keepends=True):
            match = DIV_FENCE.match(line.rstrip("\n"))
            if match and match.group("attrs"):
                attrs = match.group("attrs")
                attrs = attrs.strip("{}") if attrs.startswith("{") else "." + attrs
                _identifier, classes, conditions = parse_attrs(attrs)
                kind = next((c for c in classes if c in CONDITIONAL_CLASSES), None)
                if kind:
                    stack.append((True, _condition_holds(conditions, names) == (kind == "content-visible")))
                    continue
                if shown():
                    out.append(line)
                stack.append((False, True))
                continue
            if match and stack:
                conditional, _visible = stack.pop()
                if not conditional and shown():
                    out.append(line)
                continue
            if shown():
                out.append(line)
    return "".join(out)


def _condition_holds(conditions: dict[str, str], names: frozenset[str]) -> bool:
    holds = True
    if "when-format" in conditions:
        holds = holds and conditions["when-format"] in names
    if "unless-format" in conditions:
        holds = holds and conditions["unless-format"] not in names
    if "when-profile" in conditions:
        holds = False
    return holds


HEADING_FIRST = re.compile(r"\s*#{1,6}\s")
"""Markdown whose first block is an ATX heading."""


def raw(fmt: str, text: str) -> str:
    return "\n" + _fence(text, "{=" + fmt + "}") + "\n"


def _typst_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class FormatOptions:
    """Display options of one format after merging ``execute:`` and the format's own keys."""

    name: str  # "html" or "typst"
    echo: bool = True
    warning: bool = True
    code_fold: Any = False
    code_summary: str = "Code"

    @classmethod
    def from_config(cls, name: str, execute: dict[str, Any], fmt: dict[str, Any]) -> FormatOptions:
        merged = {**execute, **{k: v for k, v in fmt.items() if k in ("echo", "warning", "code-fold")}}
        return cls(name=name, echo=merged.get("echo", True), warning=merged.get("warning", True),
                   code_fold=merged.get("code-fold", name == "html"),
                   code_summary=str(fmt.get("code-summary", "Code")))


def _text_of(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _looks_like_table(markdown: str) -> bool:
    lines = [line for line in markdown.strip().splitlines() if line.strip()]
    return len(lines) >= 2 and all(line.lstrip().startswith("|") for line in lines)


def chart_print_width(svg: str) -> str:
    """Pandoc attributes giving a chart its share of the text width (see SITE_COLUMN_PX), or none."""
    match = SVG_WIDTH.search(svg)
    if not match:
        return ""
    return f"{{width={min(100.0, 100 * float(match['px']) / SITE_COLUMN_PX):.0f}%}}"


def _rule_widths(table: str) -> list[int] | None:
    """Relative column widths a pipe table asks for: the dashes of its rule line, when they are
    not all pandoc's minimum of 3 (the table then keeps its natural widths)."""
    lines = [line.strip() for line in table.strip().splitlines()]
    if len(lines) < 2 or not re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|)+", lines[1]):
        return None
    widths = [cell.count("-") for cell in lines[1].strip("|").split("|")]
    return widths if any(width != 3 for width in widths) else None


class ChapterRenderer:
    """Builds the Markdown of one document for one format."""

    def __init__(self, rel: str, document: Document, cells: list[list[dict[str, Any]]],
                 inline: dict[str, tuple[str, str]], numbering: Numbering, options: FormatOptions,
                 href: Callable[[Any], str], write_asset: WriteAsset, *, root: Path):
        self.root = Path(root)
        self.rel = rel
        self.document = document
        self.cells = cells
        self.inline = inline
        self.numbering = numbering
        self.info: ChapterInfo = numbering.chapters[rel]
        self.options = options
        self.href = href
        self.write_asset = write_asset
        self.html = options.name == "html"

    def markdown(self) -> str:
        parts: list[str] = []
        numbers = iter(self.info.heading_numbers)
        div_stack: list[bool] = []
        has_h1 = any(HEADING.match(line) and line.startswith("# ") for block in self.document.blocks
                     if isinstance(block, Markdown) for chunk, fenced in split_fenced(block.text)
                     if not fenced for line in chunk.splitlines())
        if not has_h1:
            title = self.info.title
            ident = self.document.meta.get("id")
            attrs = " ".join(filter(None, [f"#{ident}" if ident else "", ".unnumbered" if not self.html else ""]))
            number = f"[{self.info.number}]{{.header-section-number}} " if self.info.number else ""
            parts.append(f"# {number}{title}" + (f" {{{attrs}}}" if attrs else "") + "\n\n")
        cell_index = 0
        for block in self.document.blocks:
            if isinstance(block, Markdown):
                text = self._inline(block.text)
                text = number_headings(text, numbers, unnumbered_class=not self.html, stack=div_stack)
                text = self.numbering.resolve(text, self.rel, self.href)
                parts.append(self._callouts(text))
            else:
                parts.append(self._cell(block, self.cells[cell_index] if cell_index < len(self.cells) else []))
                cell_index += 1
        return "".join(parts)

    # -- inline expressions -------------------------------------------------------------
    def _inline(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            mime, content = self.inline.get(match.group("expr").strip(), ("text/plain", ""))
            return content if mime == "text/markdown" else escape_markdown(content)

        return bind_relations(
            "".join(chunk if fenced else INLINE_EXPR.sub(value, chunk) for chunk, fenced in split_fenced(text)))

    # -- callouts --------------------------------------------------------------------------
    def _callouts(self, text: str) -> str:
        out: list[str] = []
        stack: list[bool] = []  # True for callout fences
        pending_title: int | None = None
        for chunk, fenced in split_fenced(text):
            if fenced:
                out.append(chunk)
                pending_title = None
                continue
            for line in chunk.splitlines(keepends=True):
                match = DIV_FENCE.match(line.rstrip("\n"))
                if match and match.group("attrs"):
                    attrs = match.group("attrs").strip("{}")
                    identifier, classes, pairs = parse_attrs(attrs if match.group("attrs").startswith("{") else "." + attrs)
                    kind = next((c[len("callout-"):] for c in classes if c.startswith("callout-")), None)
                    if kind in CALLOUT_TITLES:
                        stack.append(True)
                        title = pairs.get("title")
                        out.append(self._callout_open(kind, title, identifier))
                        pending_title = None if title else len(out) - 1
                        continue
                    stack.append(False)
                    pending_title = None
                    out.append(line)
                    continue
                if match and not match.group("attrs") and stack:
                    if stack.pop():
                        out.append(self._callout_close())
                        pending_title = None
                        continue
                    out.append(line)
                    continue
                if pending_title is not None:
                    heading = HEADING.match(line.rstrip("\n"))
                    if heading:
                        kind_line = out[pending_title]
                        out[pending_title] = kind_line.replace("\x00TITLE\x00", self._title_markup(heading.group("text")))
                        pending_title = None
                        continue
                    if line.strip():
                        pending_title = None
                out.append(line)
        return "".join(part.replace("\x00TITLE\x00", self._default_title(part)) if "\x00TITLE\x00" in part else part
                       for part in out)

    def _default_title(self, part: str) -> str:
        kind = re.search(r"callout-(\w+)", part)
        return self._title_markup(CALLOUT_TITLES.get(kind.group(1) if kind else "note", "Note"))

    def _title_markup(self, title: str) -> str:
        return f"**{title}**" if self.html else _typst_string(title)

    def _callout_open(self, kind: str, title: str | None, identifier: str | None) -> str:
        marker = self._title_markup(title) if title else "\x00TITLE\x00"
        if self.html:
            ident = f"#{identifier} " if identifier else ""
            return (f"\n::: {{{ident}.callout .callout-{kind}}}\n::: {{.callout-title}}\n{marker}\n"
                    f":::\n::: {{.callout-body}}\n")
        return raw("typst", f"#callout(kind: \"{kind}\", title: {marker})[")

    def _callout_close(self) -> str:
        return "\n:::\n:::\n" if self.html else raw("typst", "]")

    # -- cells -------------------------------------------------------------------------------
    def _option(self, cell: Cell, name: str, default: Any) -> Any:
        return cell.options.get(name, default)

    def _cell(self, cell: Cell, outputs: list[dict[str, Any]]) -> str:
        if cell.options.get("include") is False:
            return "\n"
        parts: list[str] = []
        if self._option(cell, "echo", self.options.echo) and cell.code.strip():
            code = _fence(cell.code, " {.python .cell-code}")
            fold = self._option(cell, "code-fold", self.options.code_fold)
            if self.html and fold not in (False, "false", None):
                opened = " open" if fold == "show" else ""
                summary = html_escape(str(cell.options.get("code-summary", self.options.code_summary)))
                parts.append(raw("html", f'<details class="code-fold"{opened}><summary>{summary}</summary>'))
                parts.append("\n" + code + "\n")
                parts.append(raw("html", "</details>"))
            else:
                parts.append("\n" + code + "\n")
        show_output = self._option(cell, "output", True)
        label = cell.label or ""
        if show_output is not False:
            rendered = [self._output(cell, output, index, asis=show_output == "asis")
                        for index, output in enumerate(outputs)]
            rendered = [r for r in rendered if r]
            if label.startswith("fig-"):
                parts.append(self._figure(cell, rendered))
            elif label.startswith("tbl-"):
                parts.append(self._table(cell, rendered))
            else:
                parts.extend(self._uncaptioned(output) for output in rendered)
        body = "".join(parts)
        if self.html and HEADING_FIRST.match(body):
            # pandoc turns a div that opens with a heading into a <section> and moves the heading's id
            # onto it, where the page's contents cannot find it: raw tags keep the id on the heading.
            return raw("html", '<div class="cell">') + body + raw("html", "</div>") + "\n"
        if self.html:
            return f"\n::: {{.cell}}\n{body}\n:::\n\n"
        return f"\n{body}\n"

    def _output(self, cell: Cell, output: dict[str, Any], index: int, asis: bool) -> str:
        kind = output.get("output_type")
        if kind == "stream":
            text = _text_of(output.get("text", ""))
            if output.get("name") == "stderr" and not self._option(cell, "warning", self.options.warning):
                return ""
            if asis:
                return "\n" + text + "\n"
            return "\n" + _fence(text, " {.cell-output}") + "\n"
        if kind != "display_data":
            return ""
        data = output.get("data", {})
        preference = HTML_PREFERENCE if self.html else TYPST_PREFERENCE
        mime = next((m for m in preference if m in data), None)
        if mime is None:
            return ""
        content = data[mime]
        stem = f"{Path(self.rel).with_suffix('').as_posix().replace('/', '-')}-{cell.label or f'cell{cell.line}'}-{index}"
        alt = str(cell.options.get("fig-alt", ""))
        if mime == "application/javascript":
            return raw("html", f'<script type="application/javascript">\n{_text_of(content)}\n</script>')
        if mime == "text/html":
            return raw("html", _text_of(content))
        if mime == "image/svg+xml" and self.html:
            path = self.write_asset(f"{stem}.svg", _text_of(content).encode("utf-8"))
            return f"\n![{escape_markdown(alt)}]({path})\n"
        if mime == "image/svg+xml":
            cache = PANDOC_CACHE.get()
            svg = _text_of(content)
            chart = chart_pdf(svg, cache / "charts" if cache else None)
            path = self.write_asset(f"{stem}.pdf", chart)
            return f"\n![{escape_markdown(alt)}]({path}){chart_print_width(svg)}\n"
        if mime in ("image/png", "image/jpeg"):
            suffix = ".png" if mime == "image/png" else ".jpg"
            path = self.write_asset(f"{stem}{suffix}", base64.b64decode(_text_of(content)))
            return f"\n![{escape_markdown(alt)}]({path})\n"
        if mime == "text/markdown":
            text = select_format_content(_text_of(content), self.options.name)
            return "\n" + self._local_images(text, cell, stem) + "\n"
        text = _text_of(content)
        return ("\n" + text + "\n") if asis else "\n" + _fence(text, " {.cell-output}") + "\n"

    def _local_images(self, markdown: str, cell: Cell, stem: str) -> str:
        """Copy the local images a Markdown output shows into the output, as Quarto does.

        Paths are relative to the chapter's folder. In the PDF an SVG becomes a one-page vector
        PDF (see :mod:`bookengine.pdf`) with the chart's share of the text width.
        """
        count = 0

        def copy(match: re.Match[str]) -> str:
            nonlocal count
            target, attrs = match["target"], match["attrs"] or ""
            if re.match(r"^[a-zA-Z][\w+.-]*:|^/|^#", target):
                return match.group(0)
            source = self.root / posixpath.dirname(self.rel) / target
            if not source.is_file():
                label = f"cell '{cell.label}'" if cell.label else "unlabelled cell"
                raise BuildError(f"{self.rel}:{cell.line}: {label} shows the image {target}, which does not exist")
            count += 1
            name = stem if count == 1 else f"{stem}-{count}"
            data = source.read_bytes()
            if source.suffix.lower() == ".svg" and not self.html:
                svg = data.decode("utf-8")
                cache = PANDOC_CACHE.get()
                path = self.write_asset(f"{name}.pdf", chart_pdf(svg, cache / "charts" if cache else None))
                return f"![{match['alt']}]({path}){attrs or chart_print_width(svg)}"
            path = self.write_asset(f"{name}{source.suffix.lower()}", data)
            return f"![{match['alt']}]({path}){attrs}"

        return "".join(chunk if fenced else MARKDOWN_IMAGE.sub(copy, chunk) for chunk, fenced in split_fenced(markdown))

    def _caption(self, cell: Cell, key: str, kind: str, number: str) -> str:
        caption = str(cell.options.get(key, "")).strip()
        caption = self.numbering.resolve(caption, self.rel, self.href)
        return f"{kind}\u00a0{number}" + (f": {caption}" if caption else "")

    def _figure(self, cell: Cell, rendered: list[str]) -> str:
        label = cell.label or ""
        caption = self._caption(cell, "fig-cap", "Figure", self.info.figures[label])
        if self.html:
            return (raw("html", f'<figure id="{label}" class="atlas-figure">') + "".join(rendered)
                    + raw("html", "<figcaption>") + "\n" + caption + "\n" + raw("html", "</figcaption></figure>"))
        image = IMAGE.match(rendered[0].strip()) if len(rendered) == 1 else None
        if image:
            alt = escape_markdown(str(cell.options.get("fig-alt", "")))
            width = f" width={image['width']}" if image["width"] else ""
            return (f"\n![{caption}]({image['target']}){{#{label}{width}"
                    + (f' fig-alt="{alt}"' if alt else "") + "}\n\n")
        return (f"\n::: {{#{label}}}\n" + "".join(rendered) + f"\n{caption}\n\n:::\n")

    def _widths_rule(self, table: str) -> str:
        """In the PDF, a Typst rule giving a pipe table the relative widths its rule line asks for.

        Typst gets no widths from pandoc (see to_typst); the div or content block around the table scopes the rule.
        """
        widths = None if self.html else _rule_widths(table)
        if not widths:
            return ""
        fractions = ", ".join(f"{width}fr" for width in widths)
        return raw("typst", f"#show table: table-widths.with(({fractions},))")

    def _uncaptioned(self, output: str) -> str:
        rule = self._widths_rule(output) if _looks_like_table(output) else ""
        return f"\n::: {{.atlas-table}}\n{rule}{output}\n:::\n\n" if rule else output

    def _table(self, cell: Cell, rendered: list[str]) -> str:
        label = cell.label or ""
        caption = self._caption(cell, "tbl-cap", "Table", self.info.tables[label])
        body = "".join(rendered)
        if len(rendered) == 1 and _looks_like_table(rendered[0]) and not self.html:
            # In Typst a content block scopes the width rule instead of a div (pandoc's `#block`, a
            # container): the table's figure stays in the page's flow, where it can float.
            return (raw("typst", "#[") + self._widths_rule(rendered[0]) + rendered[0].rstrip()
                    + f"\n\n: {caption} {{#{label}}}\n" + raw("typst", "]"))
        if len(rendered) == 1 and _looks_like_table(rendered[0]):
            body = rendered[0].rstrip() + f"\n\n: {caption}\n"
        else:
            body = f"\n{caption}\n\n{body}"
        return f"\n::: {{#{label} .atlas-table}}\n{body}\n:::\n\n"


def bibliography_args(root: Path, bibliography: list[str], csl: str | None) -> list[str]:
    args: list[str] = []
    if bibliography:
        args.append("--citeproc")
        for bib in bibliography:
            args.extend(["--bibliography", str(root / bib)])
        if csl:
            args.extend(["--csl", str(root / csl)])
        args.extend(["-M", "link-citations=true"])
    return args


def to_html(markdown: str, where: str, bib_args: list[str], *, with_bibliography: bool,
            nocite: list[str] | None = None) -> str:
    """Markdown -> HTML fragment (MathML for math; citations through citeproc)."""
    args = ["-f", "markdown", "-t", "html5", "--mathml", "--wrap=none", *bib_args]
    return _convert(markdown, args, where, "html", "<!--atlas-refs-->", bool(bib_args) and not with_bibliography, nocite)


def _convert(markdown: str, args: list[str], where: str, fmt: str, marker: str, drop_bibliography: bool,
             nocite: list[str] | None) -> str:
    """Run pandoc with ``args``: with the bibliography cut off after ``marker`` (a comment in ``fmt``)
    when ``drop_bibliography``, else with the ``nocite`` keys added to the document."""
    if drop_bibliography:
        return _without_references(markdown, args, where, fmt, marker)
    if nocite:
        markdown = "---\nnocite: |\n  " + ", ".join(f"@{k}" for k in nocite) + "\n---\n\n" + markdown
    return run_pandoc(markdown, args, where)


def _without_references(markdown: str, args: list[str], where: str, fmt: str, marker: str) -> str:
    """Convert with the bibliography placed after ``marker`` and cut it off.

    ``suppress-bibliography`` would also drop the citation links; generating the list at a
    known place and removing it keeps the links (they point to the References page).
    """
    text = run_pandoc(markdown + raw(fmt, marker) + "\n::: {#refs}\n:::\n", args, where)
    return text[: text.rindex(marker)].rstrip() + "\n"


def to_typst(markdown: str, where: str, bib_args: list[str], *, with_bibliography: bool,
             nocite: list[str] | None = None) -> str:
    """Markdown -> Typst markup (no auto identifiers: labels must be unique in one document)."""
    # A wide --columns keeps pipe tables at their natural column widths (Typst `auto` columns)
    # instead of widths proportional to the dashes of the Markdown separator line; a table that
    # asks for widths gets them from the template's `table-widths` (ChapterRenderer._table).
    # typst-smart writes the quotes and apostrophes pandoc's reader recognised as the characters themselves
    # (the template turns Typst's own smart quotes off: they make the apostrophe of "et al.'s" an opening quote).
    args = ["-f", "markdown-auto_identifiers", "-t", "typst-smart", "--wrap=none", "--columns=100000", *bib_args]
    return keep_introductions(
        _convert(markdown, args, where, "typst", "// atlas-refs", bool(bib_args) and not with_bibliography, nocite))


def keep_introductions(typst: str) -> str:
    """A paragraph ending in a colon made sticky: a page never ends between it and the code block, list,
    equation or table it introduces ("To rebuild the book from a fresh clone:" stays with the commands)."""
    return INTRODUCTION.sub(lambda match: f"#block(sticky: true)[{match['paragraph']}]\n\n", typst)


def rebase_links(typst: str, rel: str) -> str:
    """Relative link targets of the document ``rel`` (relative to its folder, as on the site) made
    relative to the book's root, where the PDF sits: ``../data/x.csv`` in ``appendices/data.qmd``
    becomes ``data/x.csv``. URLs, absolute paths and anchors stay as they are."""
    folder = posixpath.dirname(rel)

    def rebase(match: re.Match[str]) -> str:
        target = match["target"]
        if EXTERNAL_TARGET.match(target):
            return match.group(0)
        path = re.split(r"[?#]", target, maxsplit=1)[0]
        rebased = posixpath.normpath(posixpath.join(folder, path)) if path else path
        return f'#link("{rebased}{target[len(path):]}")'

    return TYPST_LINK.sub(rebase, typst)


def cited_keys(html: str) -> list[str]:
    """Citation keys used in an HTML fragment, in order of first use."""
    keys: dict[str, None] = {}
    for match in re.finditer(r'data-cites="([^"]*)"', html):
        for key in match.group(1).split():
            keys.setdefault(key, None)
    return list(keys)
