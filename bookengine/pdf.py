"""The PDF: chapters' Typst markup (from pandoc) in the book's Typst template, compiled with
the ``typst`` wheel. Fonts are the ones embedded in the compiler, so output does not depend
on the machine; with ``SOURCE_DATE_EPOCH`` the PDF's dates come from it."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import jinja2

from bookengine.errors import BuildError
from bookengine.site import TEMPLATE_ROOT


def typst_string(value: object) -> str:
    """A Typst string literal."""
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def environment(project_templates: Path | None = None) -> jinja2.Environment:
    paths = [str(p) for p in (project_templates, TEMPLATE_ROOT / "typst") if p and p.is_dir()]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths), autoescape=False, undefined=jinja2.StrictUndefined,
        variable_start_string="((=", variable_end_string="=))", block_start_string="((%",
        block_end_string="%))", comment_start_string="((#", comment_end_string="#))",
        keep_trailing_newline=True,
    )
    env.filters["typst_str"] = typst_string
    return env


def source_date() -> datetime | None:
    """``SOURCE_DATE_EPOCH`` as a UTC datetime, or None when unset."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    except ValueError:
        raise BuildError(f"SOURCE_DATE_EPOCH={value!r} is not an integer number of seconds") from None


def write_main(workdir: Path, *, book: dict, chapters: list[dict], env: jinja2.Environment) -> Path:
    """Write ``main.typ`` (template + chapter bodies) into ``workdir``."""
    text = env.get_template("book.typ.j2").render(book=book, chapters=chapters)
    main = workdir / "main.typ"
    main.write_text(text, encoding="utf-8")
    return main


def compile_pdf(main: Path, output: Path) -> None:
    """Compile ``main`` to ``output`` with the typst wheel; errors name the Typst source line."""
    import typst

    stamp = source_date()
    kwargs = {"timestamp": int(stamp.timestamp())} if stamp else {}
    try:
        pdf = typst.compile(str(main), root=str(main.parent), ignore_system_fonts=True, **kwargs)
    except Exception as error:  # typst raises its own TypstError with the diagnostic text
        first = str(error).strip().splitlines()
        raise BuildError(f"PDF typesetting failed ({main.name}): {first[0] if first else error}") from None
    output.write_bytes(pdf)
