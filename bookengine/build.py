"""Orchestration of a build: pre-render commands, execution (cached), conversion, site pages,
search index and PDF, written to a scratch folder that replaces the output only on success
(:mod:`bookengine.output`)."""

from __future__ import annotations

import datetime
import os
import posixpath
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bookengine import convert, output, pdf, previews, search, site
from bookengine.config import BookConfig, load_config, pre_render_argv
from bookengine.crossref import Numbering, Target
from bookengine.errors import BuildError
from bookengine.execute import CACHE_DIR, ChapterResult, Kernels, execute_chapters, surely_executed, wait_interruptibly
from bookengine.progress import Progress
from bookengine.qmd import Document, parse_text
from bookengine.toolchain import environment_fingerprint

__all__ = ["BuildReport", "Progress", "build", "build_with_quarto", "run_pre_render"]

EXECUTE_PARALLEL = 2
"""Chapters executing at once (and kernels started ahead for the next ones)."""
REFERENCES_PAGE = "references.qmd"
REFERENCES_SOURCE = "# References {.unnumbered}\n\n::: {#refs}\n:::\n"


@dataclass
class BuildReport:
    """What a build did: output folder, seconds per stage, chapters executed vs cached."""

    output: Path
    pdf: Path | None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    engine: str = "builtin"


@dataclass(frozen=True)
class Source:
    """One document of the book: project-relative path, parsed document, appendix or not, its text."""

    rel: str
    document: Document
    appendix: bool
    text: str


@dataclass
class Converted:
    """Pandoc's output per document (HTML fragment and Typst markup), in book order; ``order``
    ends with the References page when the book gets one added (no ``{#refs}`` div of its own)."""

    html: dict[str, str]
    typst: dict[str, str]
    order: list[str]
    references: str | None


class _Stages:
    """Starts stages: adds each stage's seconds to the report and tells the progress display."""

    def __init__(self, report: BuildReport, progress: Progress) -> None:
        self.report, self.progress = report, progress
        self.current: str | None = None
        self.started = time.perf_counter()

    def start(self, name: str | None, total: int = 0) -> None:
        now = time.perf_counter()
        if self.current is not None:
            seconds = self.report.stage_seconds.get(self.current, 0.0) + now - self.started
            self.report.stage_seconds[self.current] = seconds
        self.current, self.started = name, now
        if name is not None:
            self.progress.stage(name, total)

    def finish(self) -> None:
        self.start(None)
        self.progress.finish()


def run_pre_render(config: BookConfig, output_dir: Path) -> None:
    """Run ``project: pre-render`` commands from the project root, as Quarto does."""
    env = {**os.environ, "QUARTO_PROJECT_RENDER_ALL": "1", "QUARTO_PROJECT_OUTPUT_DIR": str(output_dir),
           "QUARTO_PROJECT_DIR": str(config.root)}
    for command in config.pre_render:
        parts = pre_render_argv(command, sys.executable)  # a `.py` script runs in this environment
        process = subprocess.run(parts, cwd=config.root, env=env, capture_output=True, text=True)
        if process.returncode != 0:
            detail = (process.stderr or process.stdout).strip().splitlines()
            raise BuildError(f"_quarto.yml: pre-render command '{command}' failed: {detail[-1] if detail else process.returncode}")


def _resolve_engine(engine: str) -> str:
    if engine not in ("auto", "quarto", "builtin"):
        raise BuildError(f"unknown engine '{engine}' (use auto, quarto or builtin)")
    if engine == "auto":
        return "quarto" if shutil.which("quarto") else "builtin"
    if engine == "quarto" and not shutil.which("quarto"):
        raise BuildError("--engine quarto: 'quarto' is not on PATH (use --engine builtin)")
    return engine


def build_with_quarto(root: Path, output_dir: str | None, use_cache: bool) -> BuildReport:
    """Delegate to ``quarto render``; Quarto runs pre-render, execution, site and PDF itself.

    Unless the caller set ``QUARTO_PYTHON``, Quarto gets this interpreter as its Python, so its
    kernels and ``.py`` pre-render scripts see the packages of the environment running the build.
    """
    command = [shutil.which("quarto") or "quarto", "render", str(root)]
    if output_dir:
        command += ["--output-dir", output_dir]
    if not use_cache:
        command += ["--cache-refresh"]
    started = time.perf_counter()
    env = {**os.environ}
    env.setdefault("QUARTO_PYTHON", sys.executable)
    process = subprocess.run(command, cwd=root, env=env)
    if process.returncode != 0:
        raise BuildError(f"quarto render failed with exit status {process.returncode}")
    config = load_config(root)
    out = (root / (output_dir or config.output_dir)).resolve()
    return BuildReport(output=out, pdf=None, engine="quarto",
                       stage_seconds={"quarto": time.perf_counter() - started})


def build(root: Path | str = ".", *, output_dir: str | None = None, use_cache: bool = True,
          engine: str = "builtin", progress: Progress | None = None, pdf_output: bool = True) -> BuildReport:
    """Render the book at ``root`` into its output folder (site + PDF).

    The previous output survives any failure (:class:`BuildError`, one line that names the
    place) and any interruption (``KeyboardInterrupt``, raised once the kernels are shut down).
    """
    root = Path(root).resolve()
    if _resolve_engine(engine) == "quarto":
        return build_with_quarto(root, output_dir, use_cache)
    config = load_config(root)
    out = (root / (output_dir or config.output_dir)).resolve()
    if out == root or root.is_relative_to(out):
        raise BuildError(f"output folder {out} would replace the project itself")
    progress = progress or Progress("off")
    report = BuildReport(output=out, pdf=None)
    progress.start()
    try:
        with output.scratch_for(out) as scratch:
            _build_into(config, scratch, _Stages(report, progress), report, use_cache, pdf_output)
            output.publish(scratch.site, out)
    except OSError as error:
        raise BuildError(_os_error_text(error)) from None
    finally:
        progress.stop()
    if report.pdf is not None:
        report.pdf = out / report.pdf.name
    return report


def _os_error_text(error: OSError) -> str:
    """One line for a failed file operation (a full disk, a read-only folder)."""
    if isinstance(error, shutil.Error) and error.args and isinstance(error.args[0], list) and error.args[0]:
        source, target, reason = error.args[0][0]
        return f"cannot copy {source} to {target}: {reason}"
    place = f": {error.filename}" if error.filename else ""
    return f"{error.strerror or error}{place}"


def _build_into(config: BookConfig, scratch: output.Scratch, stages: _Stages, report: BuildReport,
                use_cache: bool, pdf_output: bool) -> None:
    """Every stage of a build, writing the site into ``scratch.site``."""
    stages.start("pre-render")
    with Kernels(config.root) as kernels:
        # The first chapters sure to execute get their kernels started now, ready when the scripts are done.
        ahead = surely_executed(config.root, _sources_before_pre_render(config), use_cache=use_cache)
        kernels.start_ahead((config.root / rel).parent for rel in ahead[:EXECUTE_PARALLEL])
        run_pre_render(config, report.output)
        sources = _read_sources(config)
        numbering = Numbering([(source.rel, source.document, source.appendix) for source in sources])
        environment = environment_fingerprint()
        stages.start("execute", sum(1 for source in sources if source.document.cells or source.document.inline_expressions()))
        results = _execute(config, sources, environment, use_cache, report, stages.progress, kernels)
    stages.start("convert", len(sources))
    converted = _convert_all(config, sources, numbering, results, scratch,
                             _conversion_cache(config.root, environment, use_cache), stages.progress)
    stages.start("site")
    _write_site(config, sources, converted, scratch.site, pdf_output)
    if pdf_output:
        stages.start("typeset")
        report.pdf = _write_pdf(config, converted, scratch)
    stages.finish()


def _read_sources(config: BookConfig) -> list[Source]:
    sources = []
    for rel in config.documents:
        text = (config.root / rel).read_text(encoding="utf-8")
        sources.append(Source(rel, parse_text(text, Path(rel)), rel in config.appendices, text))
    return sources


def _sources_before_pre_render(config: BookConfig) -> list[tuple[str, Document, str]]:
    """The documents as they are before the pre-render scripts run, which may write or change them: only a
    guess at what will execute, so a document that cannot be read or parsed yet is left out, not an error."""
    jobs = []
    for rel in config.documents:
        try:
            text = (config.root / rel).read_text(encoding="utf-8")
            jobs.append((rel, parse_text(text, Path(rel)), text))
        except (OSError, UnicodeDecodeError, BuildError):
            continue
    return jobs


def _jobs(sources: list[Source]) -> list[tuple[str, Document, str]]:
    return [(source.rel, source.document, source.text) for source in sources]


def _execute(config: BookConfig, sources: list[Source], environment: str, use_cache: bool, report: BuildReport,
             progress: Progress, kernels: Kernels) -> dict[str, ChapterResult]:
    """Run (or load from the cache) every document's code; record which ran and which were cached."""

    def on_event(rel: str, state: str) -> None:
        if state == "cached":
            report.cached.append(rel)
        elif state == "executed":
            report.executed.append(rel)
        progress.item(rel, "executing" if state == "execute" else state)

    return execute_chapters(config.root, _jobs(sources), config.execute, use_cache=use_cache, parallel=EXECUTE_PARALLEL,
                            environment=environment, on_event=on_event, kernels=kernels)


def _conversion_cache(root: Path, environment: str, use_cache: bool) -> Path | None:
    """The folder of cached pandoc and chart conversions for this build environment (older
    environments' folders are removed), or None without the cache."""
    if not use_cache:
        return None
    parent = root / CACHE_DIR / "pandoc"
    folder = parent / environment[:16]
    if parent.is_dir():
        for stale in parent.iterdir():
            if stale != folder:
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    return folder


def _html_href(current: str) -> Callable[[Target], str]:
    """Links from the page of ``current`` to a cross-reference target."""

    def href(target: Target) -> str:
        if target.doc == current:
            return f"#{target.label}"
        return site.relative(site.page_url(current), site.page_url(target.doc) + f"#{target.label}")

    return href


def _html_asset(site_dir: Path, current: str) -> convert.WriteAsset:
    """Writes a figure of ``current`` beside its page (``<page>_files/figure-html/``); returns its link."""
    page = site.page_url(current)
    folder = posixpath.splitext(page)[0] + "_files/figure-html"

    def write(name: str, data: bytes) -> str:
        (site_dir / folder).mkdir(parents=True, exist_ok=True)
        (site_dir / folder / name).write_bytes(data)
        return posixpath.relpath(f"{folder}/{name}", posixpath.dirname(page) or ".")

    return write


def _typst_asset(typst_dir: Path) -> convert.WriteAsset:
    """Writes a figure for the PDF into ``typst_dir/figures/``; returns its path from ``main.typ``."""

    def write(name: str, data: bytes) -> str:
        (typst_dir / "figures").mkdir(exist_ok=True)
        (typst_dir / "figures" / name).write_bytes(data)
        return f"figures/{name}"

    return write


def _convert_one(config: BookConfig, source: Source, result: ChapterResult, numbering: Numbering,
                 scratch: output.Scratch, nocite: list[str] | None) -> tuple[str, str]:
    """One document's HTML fragment and Typst markup; with ``nocite`` it carries the bibliography."""
    bib_args = convert.bibliography_args(config.root, config.bibliography, config.csl)
    html_options = convert.FormatOptions.from_config("html", config.execute, config.html)
    typst_options = convert.FormatOptions.from_config("typst", config.execute, config.typst)
    html_md = convert.ChapterRenderer(source.rel, source.document, result.cells, result.inline, numbering,
                                      html_options, _html_href(source.rel),
                                      _html_asset(scratch.site, source.rel), root=config.root).markdown()
    typst_md = convert.ChapterRenderer(source.rel, source.document, result.cells, result.inline, numbering,
                                       typst_options, lambda target: f"#{target.label}",
                                       _typst_asset(scratch.typst), root=config.root).markdown()
    with_bib = nocite is not None
    return (convert.to_html(html_md, source.rel, bib_args, with_bibliography=with_bib, nocite=nocite),
            convert.rebase_links(convert.to_typst(typst_md, source.rel, bib_args, with_bibliography=with_bib,
                                                  nocite=nocite), source.rel))


def _convert_all(config: BookConfig, sources: list[Source], numbering: Numbering,
                 results: dict[str, ChapterResult], scratch: output.Scratch, cache: Path | None,
                 progress: Progress) -> Converted:
    """Convert every document with pandoc (four at a time), then the page that lists the references."""
    refs_source = next((source for source in sources if "{#refs}" in source.text), None)
    ordinary = [source for source in sources if source is not refs_source]
    converted = Converted(html={}, typst={}, order=[source.rel for source in sources], references=None)

    def convert_job(source: Source) -> tuple[str, str, str]:
        convert.PANDOC_CACHE.set(cache)  # threads start with a fresh context
        return (source.rel, *_convert_one(config, source, results[source.rel], numbering, scratch, None))

    convert.PANDOC_CACHE.set(cache)
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [pool.submit(convert_job, source) for source in ordinary]
        try:
            for job in jobs:
                rel, fragment, typst_text = wait_interruptibly(job)
                converted.html[rel], converted.typst[rel] = fragment, typst_text
                progress.item(rel, "converted")
        except BaseException:
            for job in jobs:
                job.cancel()
            raise
    keys = list(dict.fromkeys(key for source in ordinary for key in convert.cited_keys(converted.html[source.rel])))
    if refs_source is not None:
        converted.html[refs_source.rel], converted.typst[refs_source.rel] = _convert_one(
            config, refs_source, results[refs_source.rel], numbering, scratch, keys)
        converted.references = refs_source.rel
        progress.item(refs_source.rel, "converted")
    elif keys and config.bibliography:
        bib_args = convert.bibliography_args(config.root, config.bibliography, config.csl)
        converted.html[REFERENCES_PAGE] = convert.to_html(REFERENCES_SOURCE, "references", bib_args,
                                                          with_bibliography=True, nocite=keys)
        converted.typst[REFERENCES_PAGE] = convert.to_typst(REFERENCES_SOURCE, "references", bib_args,
                                                            with_bibliography=True, nocite=keys)
        converted.order.append(REFERENCES_PAGE)
        converted.references = REFERENCES_PAGE
    return converted


def _copy_data_files(config: BookConfig, rel: str, data_files: list[str], site_dir: Path) -> None:
    """Copy a document's ``data-files:`` (paths relative to its folder) beside its page."""
    for data_file in data_files:
        source = config.root / posixpath.dirname(rel) / data_file
        if not source.is_file():
            raise BuildError(f"{rel}: data-files entry '{data_file}' does not exist")
        target = site_dir / posixpath.normpath(posixpath.join(posixpath.dirname(rel), data_file))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _copy_resources(config: BookConfig, site_dir: Path) -> None:
    """Copy ``project: resources`` (files, folders or globs) into the site."""
    for pattern in config.resources:
        matches = sorted(config.root.glob(pattern)) if any(c in pattern for c in "*?[") else [config.root / pattern]
        for source in matches:
            if not source.exists():
                raise BuildError(f"_quarto.yml: resource '{pattern}' does not exist")
            target = site_dir / source.relative_to(config.root)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


def _book_metadata(config: BookConfig) -> dict[str, str]:
    return {"title": config.title, "subtitle": config.subtitle, "author": config.author,
            "date": _book_date(config.date), "lang": config.raw.get("lang", "en")}


def _book_date(value: str) -> str:
    """Quarto's ``today``/``now``/``last-modified`` as an ISO date (``SOURCE_DATE_EPOCH`` when set)."""
    if value not in ("today", "now", "last-modified"):
        return value
    stamp = pdf.source_date() or datetime.datetime.now(tz=datetime.UTC)
    return stamp.date().isoformat()  # UTC, the date the book's code prints (analysis.chapters.appendices.build_date)


def _write_site(config: BookConfig, sources: list[Source], converted: Converted, site_dir: Path,
                pdf_output: bool) -> None:
    """The HTML pages (sidebar, links to the References page, data files), resources and search index."""
    documents = {source.rel: source.document for source in sources}
    refs_url = site.page_url(converted.references) if converted.references else None
    appendices = set(config.appendices)
    pages: list[site.Page] = []
    entries: list[dict[str, str]] = []
    targets: dict[str, dict[str, str]] = {}
    for rel in converted.order:
        url = site.page_url(rel)
        fragment = converted.html[rel]
        if refs_url and url != refs_url:
            fragment = fragment.replace('href="#ref-', f'href="{site.relative(url, refs_url)}#ref-')
        number, title, sections = site.headings(fragment)
        document = documents.get(rel)
        data_files = [str(f) for f in (document.meta.get("data-files") or [])] if document else []
        _copy_data_files(config, rel, data_files, site_dir)
        body = site.bind_inline_math(site.wrap_tables(fragment))
        pages.append(site.Page(rel=rel, url=url, number=number, title=title or rel, body=body,
                               sections=sections, data_files=data_files, appendix=rel in appendices))
        entries.extend(search.page_entries(url, f"{number} {title}".strip(), fragment))
        targets.update(previews.page_previews(url, fragment))
    _copy_resources(config, site_dir)
    site.write_site(site_dir, pages, book=_book_metadata(config), pdf_name=config.pdf_name if pdf_output else None,
                    env=site.environment(config.root / "templates" / "site"))
    (site_dir / "site_libs" / "search-index.js").write_text(search.index_script(entries), encoding="utf-8")
    (site_dir / "site_libs" / "previews.js").write_text(previews.previews_script(targets), encoding="utf-8")


def _write_pdf(config: BookConfig, converted: Converted, scratch: output.Scratch) -> Path:
    """Typeset the book's Typst markup (``scratch.typst``) into the PDF inside the site; return its path."""
    appendices = set(config.appendices)
    chapters = []
    first_appendix = True
    for rel in converted.order:
        is_appendix = rel in appendices
        chapters.append({"rel": rel, "body": converted.typst[rel], "starts_appendices": is_appendix and first_appendix})
        first_appendix = first_appendix and not is_appendix
    stamp = pdf.source_date()
    book = {**_book_metadata(config), "build_date": stamp.strftime("%Y-%m-%d") if stamp else ""}
    main = pdf.write_main(scratch.typst, book=book, chapters=chapters,
                          env=pdf.environment(config.root / "templates" / "typst"))
    target = scratch.site / config.pdf_name
    pdf.compile_pdf(main, target)
    return target
