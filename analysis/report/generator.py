"""Write a report project from the report templates and render it with the project's engine.

A report is a small Quarto book: ``_quarto.yml``, one ``.qmd`` per chapter, ``report.yml``
(column mapping and fitting options), a copy of the runs table and the bibliography entries it
cites (``references.json``, CSL JSON as pandoc reads the package's bibliography). The chapters hold
prose and calls into :mod:`analysis.report`; no number is written into
the sources, so a user can edit the table or the settings and render again.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import jinja2

from analysis import resources
from analysis.bibliography import csl_entries
from analysis.errors import AtlasError
from analysis.report.settings import SETTINGS_FILE, ReportSettings, read_runs

REFERENCES_FILE = "references.json"
"""The report's bibliography: the cited entries as CSL JSON."""

DEFAULT_TITLE = "Scaling-law report"


def write_report(
    runs_table: str | Path,
    out_dir: str | Path,
    settings: ReportSettings,
    title: str = DEFAULT_TITLE,
) -> Path:
    """Validate the runs, then write the report's sources into ``out_dir``.

    Args:
        runs_table: CSV (or Parquet) with one row per training run.
        out_dir: folder of the report; created if missing, and it must be empty or hold an
            earlier report (whose generated files are then replaced).
        settings: column mapping and options; its ``runs`` is replaced by the copied table's name.
        title: the report's title.

    Returns:
        The report folder.

    Raises:
        AtlasError: bad runs (same message as ``atlas fit``), bad options or an unsuitable
            ``out_dir``; nothing is written in that case.
    """
    runs_table, out_dir = Path(runs_table), Path(out_dir)
    if not title.strip():
        raise AtlasError("the report title must not be empty")
    settings = replace(settings, runs=copied_name(runs_table))
    settings.check("options")
    read_runs(settings, runs_table).exclude_top_loss(settings.exclude_top_loss)
    _check_out_dir(out_dir)
    files = render_sources(title.strip(), settings)
    if settings.runs in files:
        settings = replace(settings, runs=f"runs{runs_table.suffix.lower()}")
        files = render_sources(title.strip(), settings)
    files[REFERENCES_FILE] = csl_entries(resources.bibliography(), citations(files.values()))

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    if runs_table.resolve() != (out_dir / settings.runs).resolve():
        shutil.copyfile(runs_table, out_dir / settings.runs)
    return out_dir


def render_sources(title: str, settings: ReportSettings) -> dict[str, str]:
    """Every report template rendered for this report: file name -> text."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resources.report_templates()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        # Quarto uses `{#sec-...}` for identifiers, so Jinja comments need other delimiters.
        comment_start_string="{{#",
        comment_end_string="#}}",
    )
    context = {"title": title, "runs_file": settings.runs, "settings": settings}
    return {
        name.removesuffix(".j2"): environment.get_template(name).render(context)
        for name in environment.list_templates(extensions=["j2"])
    }


def copied_name(runs_table: Path) -> str:
    """The runs table's name inside the report: its own name when that is safe to cite in
    Markdown and YAML unquoted, otherwise ``runs`` with its suffix."""
    if _SAFE_NAME.fullmatch(runs_table.name):
        return runs_table.name
    return f"runs{runs_table.suffix.lower() if _SAFE_NAME.fullmatch(runs_table.suffix) else '.csv'}"


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def render_report(out_dir: str | Path, engine: str = "auto") -> Path:
    """Render a written report to a site and a PDF (``out_dir/_book``) as ``atlas build`` does.

    Args:
        out_dir: the report folder written by :func:`write_report`.
        engine: ``auto`` (Quarto when installed, else the project's engine), ``quarto`` or ``builtin``.

    Returns:
        The output folder.

    Raises:
        BuildError: the build failed (for example a chapter cell raised); the message names it.
    """
    from bookengine.build import Progress, build

    # No cache: the engine's cache key covers files inside the report folder only, so after an
    # upgrade of the analysis package a cached chapter would keep the old numbers.
    return build(Path(out_dir), engine=engine, use_cache=False, progress=Progress()).output


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise AtlasError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / SETTINGS_FILE).is_file():
        raise AtlasError(
            f"{out_dir}: folder is not empty and holds no earlier report ({SETTINGS_FILE}); "
            "choose a new or empty folder"
        )


_CITATION = re.compile(r"(?<![\w@])@([A-Za-z][\w:-]*[A-Za-z0-9])")


def citations(sources: Iterable[str]) -> tuple[str, ...]:
    """Citation keys used in the sources (``@key``), without cross-references (``@fig-…``)."""
    keys: dict[str, None] = {}
    for text in sources:
        for key in _CITATION.findall(text):
            if not key.startswith(("fig-", "tbl-", "sec-", "eq-")):
                keys.setdefault(key, None)
    return tuple(keys)
