"""Checks that a book uses only the Quarto subset the built-in engine supports, and that Quarto
renders it as the engine does: no script from another host, the same Python, the same files,
one citation style and the same numbers in both formats.

``python -m bookengine.lint [project]`` prints problems, the executed outputs held in the
engine's cache included."""

from __future__ import annotations

import re
import shlex
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bookengine.config import BookConfig, load_config
from bookengine.crossref import is_unnumbered
from bookengine.errors import BuildError
from bookengine.qmd import CELL_OPTIONS, Document, Markdown, parse_file, parse_text, split_fenced

SHORTCODE = re.compile(r"\{\{<.*?>\}\}")
INLINE_OTHER = re.compile(r"`\{(?!python\})(\w+)\}[^`]*`")
DIV_CLASS = re.compile(r"^:{3,}\s*\{([^}]*)\}")
SUPPORTED_DIV_CLASSES = {"callout-note", "callout-tip", "callout-warning", "callout-important", "callout-caution"}
QUARTO_ONLY_DIVS = {"panel-tabset", "column-margin", "column-page", "column-screen", "aside", "content-visible",
                    "content-hidden", "panel-sidebar", "layout", "hidden"}
SUPPORTED_TOP_KEYS = {"project", "book", "bibliography", "csl", "format", "execute", "lang", "jupyter", "engine"}
WIDGET_MIME_TYPES = frozenset({"text/html", "application/javascript", "application/vnd.jupyter.widget-view+json",
                               "application/vnd.jupyter.widget-state+json"})
"""Output types for which Quarto adds require.js and jQuery (and for widgets their runtime) from a CDN."""
QUARTO_MIN_VERSION = (1, 9)
"""The first Quarto that renders a book to Typst (earlier ones skip ``format: typst`` for books)."""

Outputs = Mapping[str, list[list[dict[str, Any]]]]
"""Executed outputs per document: project-relative path -> one list of nbformat outputs per cell."""


@dataclass(frozen=True)
class LintProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def lint_project(root: Path, outputs: Outputs | None = None) -> list[LintProblem]:
    """Every use of a feature outside the supported subset, as ``file:line: message``.

    ``outputs`` (see :func:`cached_outputs`) adds the checks of executed cell outputs.
    """
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
    problems.extend(lint_quarto_config(root, config))
    problems.extend(lint_quarto_extra(root))
    for rel in config.documents:
        problems.extend(lint_document(root, rel, (outputs or {}).get(rel)))
    return problems


def _config_line(root: Path, needle: str) -> int:
    """The first line of ``_quarto.yml`` that contains ``needle`` (1 when none does)."""
    lines = (root / "_quarto.yml").read_text(encoding="utf-8").splitlines()
    return next((number for number, line in enumerate(lines, 1) if needle in line), 1)


def lint_quarto_config(root: Path, config: BookConfig) -> list[LintProblem]:
    """``_quarto.yml`` settings that make Quarto's output differ from the engine's."""
    problems: list[LintProblem] = []

    def problem(needle: str, message: str) -> None:
        problems.append(LintProblem("_quarto.yml", _config_line(root, needle), message))

    for command in config.pre_render:
        script = (shlex.split(command) or [""])[0]
        if not script.lower().endswith(".py"):
            problem(command, f"pre-render '{command}' is not a .py script: Quarto runs it from PATH, "
                             "not with its own Python (QUARTO_PYTHON); name the script file instead")
    project = config.raw.get("project") or {}
    resources = project.get("resources") or []
    for pattern in [resources] if isinstance(resources, str) else resources:
        if not str(pattern).startswith("/"):
            problem(str(pattern), f"resource '{pattern}' is not anchored: Quarto matches it in every folder "
                                  f"of the project (.venv included); write '/{pattern}'")
    formats = config.raw.get("format") or {}
    typst = formats.get("typst") if isinstance(formats, dict) else None
    cites_in_typst = isinstance(typst, dict) and typst.get("citeproc") is True
    if config.bibliography and isinstance(formats, dict) and "typst" in formats and not cites_in_typst:
        problem("typst:", "format typst: set 'citeproc: true' so the PDF cites in the style of the site "
                          "(without it Quarto's Typst cites in Typst's own numbered style)")
    return problems


def lint_quarto_extra(root: Path) -> list[LintProblem]:
    """The ``quarto`` extra of ``pyproject.toml`` (when the project has one) must ask for Quarto 1.9+."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return []
    try:
        extras = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {}).get("optional-dependencies", {})
    except tomllib.TOMLDecodeError as error:
        return [LintProblem("pyproject.toml", 1, f"invalid TOML ({error})")]
    problems = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for requirement in extras.get("quarto", []):
        if not re.match(r"quarto-cli\b", requirement.strip(), re.IGNORECASE):
            continue
        floor = _version_floor(requirement)
        if floor is None or floor < QUARTO_MIN_VERSION:
            line = next((n for n, text in enumerate(lines, 1) if requirement in text), 1)
            wanted = ".".join(map(str, QUARTO_MIN_VERSION))
            problems.append(LintProblem("pyproject.toml", line, f"extra 'quarto' asks for '{requirement}': a Typst "
                                        f"book needs Quarto {wanted} or later (write quarto-cli>={wanted})"))
    return problems


def _version_floor(requirement: str) -> tuple[int, ...] | None:
    """The lowest version a requirement admits (``>=``, ``==``, ``~=``, ``>``), or None if unbounded."""
    floors = [tuple(int(part) for part in version.split(".") if part)
              for _operator, version in re.findall(r"(>=|==|~=|>)\s*(\d+(?:\.\d+)*)", requirement)]
    return max(floors) if floors else None


def cached_outputs(root: Path) -> dict[str, list[list[dict[str, Any]]]]:
    """The executed outputs of every document whose entry in the engine's cache is still valid."""
    from bookengine.execute import load_cached, source_key
    from bookengine.toolchain import environment_fingerprint

    root = Path(root).resolve()
    try:
        config = load_config(root)
    except BuildError:
        return {}
    outputs = {}
    environment = environment_fingerprint()
    for rel in config.documents:
        text = (root / rel).read_text(encoding="utf-8")
        try:
            document = parse_text(text, Path(rel))
        except BuildError:
            continue
        cached = load_cached(root, rel, source_key(document, text, config.execute, environment))
        if cached is not None:
            outputs[rel] = cached.cells
    return outputs


def lint_outputs(rel: str, document: Document, cells: list[list[dict[str, Any]]]) -> list[LintProblem]:
    """Executed outputs that would make Quarto load scripts from a CDN on the page."""
    problems = []
    for cell, outputs in zip(document.cells, cells):
        for index, output in enumerate(outputs, 1):
            found = sorted(set(output.get("data") or {}) & WIDGET_MIME_TYPES)
            if found:
                label = f"cell '{cell.label}'" if cell.label else "unlabelled cell"
                problems.append(LintProblem(rel, cell.line, f"{label}: output {index} carries {', '.join(found)}: "
                                            "Quarto then loads require.js and jQuery from a CDN on this page"))
    return problems


def lint_document(root: Path, rel: str, outputs: list[list[dict[str, Any]]] | None = None) -> list[LintProblem]:
    try:
        document = parse_file(root / rel)
    except BuildError as error:
        return [LintProblem(rel, 1, str(error))]
    problems: list[LintProblem] = lint_outputs(rel, document, outputs) if outputs else []
    if is_unnumbered(document):
        counts = {"fig-": 0, "tbl-": 0}
        for cell in document.cells:
            kind = (cell.label or "")[:4]
            if kind in counts:
                counts[kind] += 1
                problems.append(LintProblem(rel, cell.line, f"'{cell.label}' in an unnumbered chapter: Quarto numbers "
                                            f"it {counts[kind]} on the site and 0.{counts[kind]} in the PDF; "
                                            "give it no label and caption"))
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
    root = Path(args[0] if args else ".")
    problems = lint_project(root, outputs=cached_outputs(root))
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
