"""Parsing ``.qmd`` sources: YAML front matter, ```` ```{python} ```` cells with ``#|``
options, and inline `` `{python} expr` `` expressions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bookengine.errors import BuildError

CELL_OPTIONS = frozenset(
    {"label", "fig-cap", "fig-alt", "tbl-cap", "echo", "eval", "output", "warning", "code-fold", "code-summary", "include"}
)
FENCE_OPEN = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
EXEC_INFO = re.compile(r"^\{\s*(?P<lang>[A-Za-z][\w-]*)(?P<rest>[^}]*)\}\s*$")
INLINE_EXPR = re.compile(r"`\{python\}\s+(?P<expr>[^`]+?)`")
OPTION_LINE = re.compile(r"^#\|\s?(?P<body>.*)$")


@dataclass
class Cell:
    """One executable cell. ``line`` is the 1-based line of the opening fence in the source."""

    code: str
    options: dict[str, Any]
    line: int
    language: str = "python"
    code_line: int = 0  # source line of the first line of ``code``

    @property
    def label(self) -> str | None:
        label = self.options.get("label")
        return str(label) if label else None


@dataclass
class Markdown:
    """A run of Markdown between cells; ``line`` is its first source line (1-based)."""

    text: str
    line: int


@dataclass
class Document:
    """A parsed ``.qmd`` file."""

    path: Path
    meta: dict[str, Any]
    blocks: list[Cell | Markdown] = field(default_factory=list)

    @property
    def cells(self) -> list[Cell]:
        return [b for b in self.blocks if isinstance(b, Cell)]

    def inline_expressions(self) -> dict[str, int]:
        """Every inline expression, in source order, without duplicates, with the 1-based source
        line of its first use."""
        seen: dict[str, int] = {}
        for block in self.blocks:
            if isinstance(block, Markdown):
                line = block.line
                for text, fenced in split_fenced(block.text):
                    if not fenced:
                        for match in INLINE_EXPR.finditer(text):
                            seen.setdefault(match.group("expr").strip(), line + text.count("\n", 0, match.start()))
                    line += text.count("\n")
        return seen


def split_fenced(text: str) -> list[tuple[str, bool]]:
    """Split Markdown into (chunk, is_fenced_code) pieces so passes can skip code blocks."""
    pieces: list[tuple[str, bool]] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\n")
        if fence is None:
            match = FENCE_OPEN.match(stripped)
            if match:
                if current:
                    pieces.append(("".join(current), False))
                current, fence = [line], match.group("fence")
                continue
            current.append(line)
        else:
            current.append(line)
            if stripped.strip().startswith(fence[0] * len(fence)) and not stripped.strip().strip(fence[0]):
                pieces.append(("".join(current), True))
                current, fence = [], None
    if current:
        pieces.append(("".join(current), fence is not None))
    return pieces


def _parse_options(lines: list[str], path: Path, first_line: int) -> tuple[dict[str, Any], list[str]]:
    option_lines: list[str] = []
    index = 0
    while index < len(lines):
        match = OPTION_LINE.match(lines[index])
        if not match:
            break
        option_lines.append(match.group("body"))
        index += 1
    if not option_lines:
        return {}, lines
    try:
        options = yaml.safe_load("\n".join(option_lines)) or {}
    except yaml.YAMLError as error:
        raise BuildError(f"{path}:{first_line + 1}: invalid #| cell options ({error})") from None
    if not isinstance(options, dict):
        raise BuildError(f"{path}:{first_line + 1}: #| cell options must be 'key: value' lines")
    return options, lines[index:]


def parse_text(text: str, path: Path) -> Document:
    """Parse a ``.qmd`` source held in memory (``path`` is used for messages only)."""
    lines = text.splitlines()
    meta: dict[str, Any] = {}
    start = 0
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                try:
                    meta = yaml.safe_load("\n".join(lines[1:end])) or {}
                except yaml.YAMLError as error:
                    raise BuildError(f"{path}:1: invalid YAML front matter ({error})") from None
                if not isinstance(meta, dict):
                    raise BuildError(f"{path}:1: front matter must be a mapping")
                start = end + 1
                break
        else:
            raise BuildError(f"{path}:1: front matter is not closed with '---'")
    document = Document(path=path, meta=meta)
    markdown: list[str] = []
    markdown_start = start + 1
    index = start
    while index < len(lines):
        line = lines[index]
        match = FENCE_OPEN.match(line)
        exec_match = EXEC_INFO.match(match.group("info")) if match else None
        if match and exec_match:
            fence = match.group("fence")
            body: list[str] = []
            index += 1
            while index < len(lines) and not (
                lines[index].strip().startswith(fence) and not lines[index].strip().strip(fence[0])
            ):
                body.append(lines[index])
                index += 1
            if index >= len(lines):
                raise BuildError(f"{path}:{markdown_start + len(markdown)}: code cell is not closed")
            open_line = markdown_start + len(markdown)
            if markdown:
                document.blocks.append(Markdown("\n".join(markdown) + "\n", markdown_start))
            options, code_lines = _parse_options(body, path, open_line)
            leading = next((i for i, text in enumerate(code_lines) if text.strip()), len(code_lines))
            document.blocks.append(
                Cell(code="\n".join(code_lines).strip("\n"), options=options, line=open_line,
                     language=exec_match.group("lang"),
                     code_line=open_line + 1 + len(body) - len(code_lines) + leading)
            )
            markdown = []
            markdown_start = index + 2
            index += 1
            continue
        if match:  # a plain fenced block: copy it whole so a '{python}' inside is not a cell
            fence = match.group("fence")
            markdown.append(line)
            index += 1
            while index < len(lines):
                markdown.append(lines[index])
                closing = lines[index].strip()
                index += 1
                if closing.startswith(fence) and not closing.strip(fence[0]):
                    break
            continue
        markdown.append(line)
        index += 1
    if markdown:
        document.blocks.append(Markdown("\n".join(markdown) + "\n", markdown_start))
    return document


def parse_file(path: Path) -> Document:
    """Parse a ``.qmd`` (or ``.md``) file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BuildError(f"{path}: cannot read ({error})") from None
    return parse_text(text, Path(path))
