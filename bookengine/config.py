"""Reading the subset of ``_quarto.yml`` the engine supports (a Quarto *book* project)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bookengine.errors import BuildError

CONFIG_NAME = "_quarto.yml"


@dataclass(frozen=True)
class BookConfig:
    """The book project as configured in ``_quarto.yml``.

    Paths in ``chapters``/``appendices`` are relative to ``root`` and use ``/``. ``resources``
    are globs relative to ``root``: the leading ``/`` that anchors a pattern for Quarto is
    removed (``python -m bookengine.lint`` reports patterns without it, which Quarto matches in
    every folder of the project).
    """

    root: Path
    title: str
    subtitle: str = ""
    author: list[str] = field(default_factory=list)
    date: str = ""
    chapters: list[str] = field(default_factory=list)
    appendices: list[str] = field(default_factory=list)
    output_dir: str = "_book"
    bibliography: list[str] = field(default_factory=list)
    csl: str | None = None
    pre_render: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    html: dict[str, Any] = field(default_factory=dict)
    typst: dict[str, Any] = field(default_factory=dict)
    execute: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def documents(self) -> list[str]:
        """Every source file in reading order (chapters, then appendices)."""
        return [*self.chapters, *self.appendices]

    @property
    def pdf_name(self) -> str:
        """File name of the PDF inside the output folder (Quarto names it after the title)."""
        name = self.typst.get("output-file") or self.raw.get("book", {}).get("output-file")
        if name:
            return str(name) if str(name).endswith(".pdf") else f"{name}.pdf"
        slug = "".join(ch if ch.isalnum() else "-" for ch in self.title).strip("-")
        while "--" in slug:
            slug = slug.replace("--", "-")
        return f"{slug or 'book'}.pdf"


def pre_render_argv(command: str, python: str) -> list[str]:
    """The argument list of one ``pre-render`` entry, run as Quarto runs it.

    Quarto runs an entry whose first word ends in ``.py`` with the Python it uses for Jupyter
    (``python`` here) and anything else as a command found on ``PATH``.
    """
    parts = shlex.split(command)
    if parts and parts[0].lower().endswith(".py"):
        return [python, *parts]
    return parts


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    return [str(v) for v in value]


def _flatten_chapters(items: Any, source: Path, key: str) -> list[str]:
    """Chapters may be plain paths or ``{part: title, chapters: [...]}`` groups."""
    result: list[str] = []
    for item in items or []:
        if isinstance(item, str):
            result.append(item)
        elif isinstance(item, dict) and "chapters" in item:
            result.extend(_flatten_chapters(item["chapters"], source, key))
        elif isinstance(item, dict) and "href" in item:
            result.append(str(item["href"]))
        else:
            raise BuildError(f"{source}: book.{key}: unsupported entry {item!r}")
    return result


def _format_options(formats: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if name in formats:
            options = formats[name]
            return dict(options) if isinstance(options, dict) else {}
    return {}


def load_config(root: Path) -> BookConfig:
    """Parse ``root/_quarto.yml``; raise :class:`BuildError` naming the file on bad input."""
    root = Path(root).resolve()
    source = root / CONFIG_NAME
    if not source.is_file():
        raise BuildError(f"{source}: not found (a book project needs a {CONFIG_NAME})")
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise BuildError(f"{source}{where}: invalid YAML ({getattr(error, 'problem', error)})") from None
    if not isinstance(data, dict):
        raise BuildError(f"{source}: expected a mapping at the top level")
    project = data.get("project") or {}
    if project.get("type", "book") != "book":
        raise BuildError(f"{source}: project.type must be 'book' (got {project.get('type')!r})")
    book = data.get("book") or {}
    if not book.get("title"):
        raise BuildError(f"{source}: book.title is missing")
    chapters = _flatten_chapters(book.get("chapters"), source, "chapters")
    if not chapters:
        raise BuildError(f"{source}: book.chapters is empty")
    appendices = _flatten_chapters(book.get("appendices"), source, "appendices")
    for rel in [*chapters, *appendices]:
        if not (root / rel).is_file():
            raise BuildError(f"{source}: chapter file {rel} does not exist")
        if not rel.endswith((".qmd", ".md")):
            raise BuildError(f"{source}: {rel}: only .qmd and .md chapters are supported")
    formats = data.get("format") or {}
    if isinstance(formats, str):
        formats = {formats: {}}
    authors = book.get("author") or data.get("author")
    if isinstance(authors, list):
        authors = [a["name"] if isinstance(a, dict) else str(a) for a in authors]
    return BookConfig(
        root=root,
        title=str(book["title"]),
        subtitle=str(book.get("subtitle") or ""),
        author=_as_list(authors),
        date=str(book.get("date") or ""),
        chapters=chapters,
        appendices=appendices,
        output_dir=str(project.get("output-dir") or "_book"),
        bibliography=_as_list(data.get("bibliography") or book.get("bibliography")),
        csl=data.get("csl") or book.get("csl"),
        pre_render=_as_list(project.get("pre-render")),
        resources=[pattern.removeprefix("/") for pattern in _as_list(project.get("resources"))],
        html=_format_options(formats, "html"),
        typst=_format_options(formats, "typst", "pdf"),
        execute=dict(data.get("execute") or {}),
        raw=data,
    )
