"""Write a report project from the report templates and render it with the project's engine.

A report is a small Quarto book: ``_quarto.yml``, one ``.qmd`` per chapter, ``report.yml``
(column mapping and fitting options), a copy of the runs table and the bibliography entries it
cites (``references.json``, CSL JSON as pandoc reads the package's bibliography). The chapters hold
prose and calls into :mod:`analysis.report`; no number is written into
the sources, so a user can edit the table or the settings and render again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import jinja2

from analysis import resources
from analysis.bibliography import csl_entries
from analysis.errors import AtlasError
from analysis.published import published_laws
from analysis.report.settings import ReportSettings, read_runs

REFERENCES_FILE = "references.json"
"""The report's bibliography: the cited entries as CSL JSON."""

MANIFEST_FILE = ".atlas-report.json"
"""What ``atlas report`` wrote into a report folder, each file with its SHA-256: a folder holding it is an earlier
report, and only its files, as written, may be replaced."""

DEFAULT_TITLE = "Scaling-law report"

RUNTIME_CITATIONS = ("porian2024resolving",)
"""Keys the report's sentences may cite when rendered (beside those in the templates and the published laws')."""


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
            earlier report (:data:`MANIFEST_FILE`), whose files are replaced unless they were changed
            since (an edited chapter or ``report.yml`` is never overwritten).
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
    files = render_sources(title.strip(), settings)
    if settings.runs in files:
        settings = replace(settings, runs=f"runs{runs_table.suffix.lower()}")
        files = render_sources(title.strip(), settings)
    cited = dict.fromkeys([*citations(files.values()), *RUNTIME_CITATIONS,
                           *(law.source for law in published_laws().values() if law.is_parametric)])
    files[REFERENCES_FILE] = csl_entries(resources.bibliography(), tuple(cited))
    contents = {name: text.encode("utf-8") for name, text in files.items()}
    same_table = (out_dir / settings.runs).exists() and runs_table.resolve() == (out_dir / settings.runs).resolve()
    contents[settings.runs] = runs_table.read_bytes()
    _check_out_dir(out_dir, contents, same_table=settings.runs if same_table else None)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, data in contents.items():
            if not (same_table and name == settings.runs):
                (out_dir / name).write_bytes(data)
        manifest = {name: _digest(data) for name, data in contents.items()}
        (out_dir / MANIFEST_FILE).write_text(json.dumps({"files": manifest}, indent=1, sort_keys=True) + "\n",
                                             encoding="utf-8")
    except OSError as error:
        raise AtlasError(f"{out_dir}: cannot write the report: {error.strerror or error}") from None
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


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_out_dir(out_dir: Path, contents: dict[str, bytes], same_table: str | None) -> None:
    """Refuse a report folder that would lose something: a path through a file, a folder that holds no earlier
    report, or files of an earlier report that were changed since it was written (``same_table``: the runs table
    is the report's own copy, read in place)."""
    blocking = next((folder for folder in (out_dir, *out_dir.parents) if folder.exists() and not folder.is_dir()), None)
    if blocking is not None:
        what = "is a file, not a folder" if blocking == out_dir else f"cannot be created: {blocking} is a file"
        raise AtlasError(f"{out_dir}: {what}")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        if out_dir.is_dir() and not os.access(out_dir, os.W_OK | os.X_OK):
            raise AtlasError(f"{out_dir}: the folder is not writable")
        return
    manifest_path = out_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        raise AtlasError(
            f"{out_dir}: folder is not empty and holds no report written by atlas report ({MANIFEST_FILE}); "
            "choose a new or empty folder"
        )
    try:
        written = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AtlasError(f"{manifest_path}: not a manifest of atlas report ({error}); choose a new or empty folder") from None
    changed = []
    for name in contents:
        path = out_dir / name
        if not path.exists() or name == same_table:
            continue
        if name not in written or not path.is_file() or _digest(path.read_bytes()) != written[name]:
            changed.append(name)
    if changed:
        raise AtlasError(
            f"{out_dir}: {', '.join(sorted(changed))} changed since atlas report wrote {'it' if len(changed) == 1 else 'them'}"
            " (or not written by it): move them away or choose another folder; nothing was written"
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
