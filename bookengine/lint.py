"""Checks that a book uses only the Quarto subset the built-in engine supports, so both
engines render the same sources. ``python -m bookengine.lint [project]`` prints problems."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from bookengine.config import load_config
from bookengine.errors import BuildError
from bookengine.qmd import CELL_OPTIONS, Markdown, parse_file, split_fenced

SHORTCODE = re.compile(r"\{\{<.*?>\}\}")
INLINE_OTHER = re.compile(r"`\{(?!python\})(\w+)\}[^`]*`")
DIV_CLASS = re.compile(r"^:{3,}\s*\{([^}]*)\}")
SUPPORTED_DIV_CLASSES = {"callout-note", "callout-tip", "callout-warning", "callout-important", "callout-caution"}
QUARTO_ONLY_DIVS = {"panel-tabset", "column-margin", "column-page", "column-screen", "aside", "content-visible",
                    "content-hidden", "panel-sidebar", "layout", "hidden"}
SUPPORTED_TOP_KEYS = {"project", "book", "bibliography", "csl", "format", "execute", "lang", "jupyter", "engine"}


@dataclass(frozen=True)
class LintProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def lint_project(root: Path) -> list[LintProblem]:
    """Every use of a feature outside the supported subset, as ``file:line: message``."""
    root = Path(root).resolve()
    try:
        config = load_config(root)
    except BuildError as error:
        return [LintProblem("_quarto.yml", 1, str(error))]
    problems = [LintProblem("_quarto.yml", 1, f"unsupported top-level key '{key}'")
                for key in config.raw if key not in SUPPORTED_TOP_KEYS]
    formats = config.raw.get("format") or {}
    for name in (formats if isinstance(formats, dict) else {}):
        if name not in ("html", "typst", "pdf"):
            problems.append(LintProblem("_quarto.yml", 1, f"unsupported format '{name}'"))
    for rel in config.documents:
        problems.extend(lint_document(root, rel))
    return problems


def lint_document(root: Path, rel: str) -> list[LintProblem]:
    try:
        document = parse_file(root / rel)
    except BuildError as error:
        return [LintProblem(rel, 1, str(error))]
    problems: list[LintProblem] = []
    for cell in document.cells:
        if cell.language != "python":
            problems.append(LintProblem(rel, cell.line, f"{{{cell.language}}} cells are not supported (python only)"))
        for key in cell.options:
            if key not in CELL_OPTIONS:
                problems.append(LintProblem(rel, cell.line, f"unsupported cell option '#| {key}'"))
        label = cell.label or ""
        if "fig-cap" in cell.options and not label.startswith("fig-"):
            problems.append(LintProblem(rel, cell.line, "fig-cap needs a label starting with 'fig-'"))
        if "tbl-cap" in cell.options and not label.startswith("tbl-"):
            problems.append(LintProblem(rel, cell.line, "tbl-cap needs a label starting with 'tbl-'"))
    for block in document.blocks:
        if not isinstance(block, Markdown):
            continue
        line = block.line
        for chunk, fenced in split_fenced(block.text):
            if not fenced:
                for offset, text in enumerate(chunk.splitlines()):
                    where = line + offset
                    for match in SHORTCODE.finditer(text):
                        problems.append(LintProblem(rel, where, f"shortcode '{match.group(0)}' is not supported"))
                    for match in INLINE_OTHER.finditer(text):
                        problems.append(LintProblem(rel, where, f"inline `{{{match.group(1)}}}` code is not supported"))
                    div = DIV_CLASS.match(text)
                    if div:
                        classes = set(re.findall(r"\.([\w-]+)", div.group(1)))
                        bad = classes & QUARTO_ONLY_DIVS or {c for c in classes if c.startswith("callout-")} - SUPPORTED_DIV_CLASSES
                        if bad:
                            problems.append(LintProblem(rel, where, f"div class '.{sorted(bad)[0]}' is not supported"))
            line += chunk.count("\n")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    problems = lint_project(Path(args[0] if args else "."))
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
