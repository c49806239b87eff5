"""The PDF: chapters' Typst markup (from pandoc) in the book's Typst template, compiled with
the ``typst`` wheel. Fonts are the ones embedded in the compiler, so output does not depend
on the machine; with ``SOURCE_DATE_EPOCH`` the PDF's dates come from it.

Charts reach Typst as one-page vector PDFs made from their SVG by vl-convert
(:func:`chart_pdf`): Typst has no sans-serif font of its own and would set the SVG's
``sans-serif`` text in the book's serif, with other widths than vl-convert measured. The PDF
carries the font vl-convert laid the chart out with (its embedded Liberation Sans), as text
that stays selectable and searchable."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
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
        return datetime.fromtimestamp(int(value), tz=UTC)
    except ValueError:
        raise BuildError(f"SOURCE_DATE_EPOCH={value!r} is not an integer number of seconds") from None


def write_main(workdir: Path, *, book: dict, chapters: list[dict], env: jinja2.Environment) -> Path:
    """Write ``main.typ`` (template + chapter bodies) into ``workdir``."""
    text = env.get_template("book.typ.j2").render(book=book, chapters=chapters)
    main = workdir / "main.typ"
    main.write_text(text, encoding="utf-8")
    return main


def chart_pdf(svg: str, cache: Path | None = None) -> bytes:
    """A vector PDF of one chart's SVG, with its text in the font vl-convert measured it with.

    vl-convert writes the PDF's objects in varying order, so the bytes differ from call to
    call; Typst re-encodes the page when it embeds it, and the book's PDF does not vary.
    ``cache`` (a folder) keeps results by the SVG's SHA-256 for no-change rebuilds.
    """
    import vl_convert

    cached = cache / f"{hashlib.sha256(svg.encode('utf-8')).hexdigest()}.pdf" if cache else None
    if cached is not None and cached.is_file():
        return cached.read_bytes()
    try:
        data = vl_convert.svg_to_pdf(svg)
    except Exception as error:  # vl-convert raises ValueError with usvg's message
        raise BuildError(f"chart SVG could not be converted for the PDF: {error}") from None
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".tmp{os.getpid()}")
        temporary.write_bytes(data)
        temporary.replace(cached)
    return data


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
