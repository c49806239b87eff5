"""Orchestration of a build: pre-render commands, execution (cached), conversion, site pages,
search index and PDF, written to a temporary folder that replaces the output only on success."""

from __future__ import annotations

import datetime
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bookengine import convert, pdf, search, site
from bookengine.config import BookConfig, load_config, pre_render_argv
from bookengine.crossref import Numbering, Target
from bookengine.errors import BuildError
from bookengine.execute import CACHE_DIR, execute_chapters
from bookengine.qmd import Document, parse_text

STAGES = ("pre-render", "execute", "convert", "site", "typeset")


@dataclass
class BuildReport:
    """What a build did: output folder, seconds per stage, chapters executed vs cached."""

    output: Path
    pdf: Path | None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    engine: str = "builtin"


class Progress:
    """Per-chapter and per-stage progress on a terminal; silent otherwise."""

    def __init__(self, enabled: bool | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled

    def __call__(self, subject: str, stage: str) -> None:
        if self.enabled:
            print(f"  {stage:<10} {subject}", file=self.stream, flush=True)


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


def _swap(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp`` with renames only, so a reader never sees a half-written site."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def _copy_resources(config: BookConfig, tmp: Path, patterns: list[str]) -> None:
    for pattern in patterns:
        matches = sorted(config.root.glob(pattern)) if any(c in pattern for c in "*?[") else [config.root / pattern]
        for source in matches:
            if not source.exists():
                raise BuildError(f"_quarto.yml: resource '{pattern}' does not exist")
            target = tmp / source.relative_to(config.root)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


def _book_date(value: str) -> str:
    """Quarto's ``today``/``now``/``last-modified`` as an ISO date (``SOURCE_DATE_EPOCH`` when set)."""
    if value not in ("today", "now", "last-modified"):
        return value
    stamp = pdf.source_date()
    return (stamp.date() if stamp else datetime.date.today()).isoformat()


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
          engine: str = "builtin", progress: Callable[[str, str], None] | None = None,
          pdf_output: bool = True) -> BuildReport:
    """Render the book at ``root`` into its output folder (site + PDF); see module doc."""
    root = Path(root).resolve()
    if _resolve_engine(engine) == "quarto":
        return build_with_quarto(root, output_dir, use_cache)
    config = load_config(root)
    notify = progress or (lambda subject, stage: None)
    out = (root / (output_dir or config.output_dir)).resolve()
    if out == root or root.is_relative_to(out):
        raise BuildError(f"output folder {out} would replace the project itself")
    report = BuildReport(output=out, pdf=None)
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.stage_seconds[stage] = report.stage_seconds.get(stage, 0.0) + now - clock
        clock = now

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        notify("project", "pre-render")
        run_pre_render(config, out)
        lap("pre-render")
        documents: list[tuple[str, Document, bool, str]] = []
        for rel in config.documents:
            text = (root / rel).read_text(encoding="utf-8")
            documents.append((rel, parse_text(text, Path(rel)), rel in config.appendices, text))
        numbering = Numbering([(rel, doc, appendix) for rel, doc, appendix, _ in documents])

        def on_event(rel: str, stage: str) -> None:
            (report.cached if stage == "cached" else report.executed if stage == "executed" else []).append(rel)
            notify(rel, stage)

        results = execute_chapters(root, [(rel, doc, text) for rel, doc, _, text in documents],
                                   config.execute, use_cache=use_cache, on_event=on_event)
        lap("execute")
        _render(config, documents, numbering, results, tmp, report, notify, lap, pdf_output, use_cache)
        _swap(tmp, out)
        if report.pdf is not None:
            report.pdf = out / report.pdf.name
        return report
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _render(config: BookConfig, documents, numbering: Numbering, results, tmp: Path, report: BuildReport,
            notify, lap, pdf_output: bool, use_cache: bool) -> None:
    root = config.root
    bib_args = convert.bibliography_args(root, config.bibliography, config.csl)
    refs_rel = next((rel for rel, doc, _, text in documents if "{#refs}" in text), None)
    html_options = convert.FormatOptions.from_config("html", config.execute, config.html)
    typst_options = convert.FormatOptions.from_config("typst", config.execute, config.typst)
    typst_dir = Path(tempfile.mkdtemp(prefix="atlas-typst-"))
    try:
        html_fragments: dict[str, str] = {}
        typst_fragments: dict[str, str] = {}

        def html_href(current: str):
            def href(target: Target) -> str:
                if target.doc == current:
                    return f"#{target.label}"
                return site.relative(site.page_url(current), site.page_url(target.doc) + f"#{target.label}")
            return href

        def html_asset(current: str):
            page = site.page_url(current)
            folder = posixpath.splitext(page)[0] + "_files/figure-html"

            def write(name: str, data: bytes) -> str:
                (tmp / folder).mkdir(parents=True, exist_ok=True)
                (tmp / folder / name).write_bytes(data)
                return posixpath.relpath(f"{folder}/{name}", posixpath.dirname(page) or ".")
            return write

        def typst_asset(name: str, data: bytes) -> str:
            (typst_dir / "figures").mkdir(exist_ok=True)
            (typst_dir / "figures" / name).write_bytes(data)
            return f"figures/{name}"

        def convert_one(rel: str, doc: Document, nocite: list[str] | None) -> tuple[str, str, str]:
            result = results[rel]
            html_md = convert.ChapterRenderer(rel, doc, result.cells, result.inline, numbering, html_options,
                                              html_href(rel), html_asset(rel), root=root).markdown()
            typst_md = convert.ChapterRenderer(rel, doc, result.cells, result.inline, numbering, typst_options,
                                               lambda target: f"#{target.label}", typst_asset, root=root).markdown()
            with_bib = nocite is not None
            fragment = convert.to_html(html_md, rel, bib_args, with_bibliography=with_bib, nocite=nocite)
            typst_text = convert.to_typst(typst_md, rel, bib_args, with_bibliography=with_bib, nocite=nocite)
            return rel, fragment, typst_text

        ordinary = [(rel, doc) for rel, doc, _, _ in documents if rel != refs_rel]
        cache_dir = root / CACHE_DIR / "pandoc" if use_cache else None

        def convert_job(job: tuple[str, Document]) -> tuple[str, str, str]:
            convert.PANDOC_CACHE.set(cache_dir)  # threads start with a fresh context
            return convert_one(job[0], job[1], None)

        convert.PANDOC_CACHE.set(cache_dir)
        with ThreadPoolExecutor(max_workers=4) as pool:
            for rel, fragment, typst_text in pool.map(convert_job, ordinary):
                html_fragments[rel], typst_fragments[rel] = fragment, typst_text
                notify(rel, "convert")
        keys: dict[str, None] = {}
        for rel, _doc in ordinary:
            for key in convert.cited_keys(html_fragments[rel]):
                keys.setdefault(key, None)
        extra_refs_page = None
        if refs_rel is not None:
            doc = next(d for r, d, _, _ in documents if r == refs_rel)
            _, html_fragments[refs_rel], typst_fragments[refs_rel] = convert_one(refs_rel, doc, list(keys))
        elif keys and bib_args:
            extra_refs_page = "references.qmd"
            source = "# References {.unnumbered}\n\n::: {#refs}\n:::\n"
            html_fragments[extra_refs_page] = convert.to_html(source, "references", bib_args,
                                                              with_bibliography=True, nocite=list(keys))
            typst_fragments[extra_refs_page] = convert.to_typst(source, "references", bib_args,
                                                                with_bibliography=True, nocite=list(keys))
        lap("convert")

        refs_page = site.page_url(refs_rel or extra_refs_page) if (refs_rel or extra_refs_page) else None
        order = [rel for rel, *_ in documents] + ([extra_refs_page] if extra_refs_page else [])
        appendices = set(config.appendices)
        pages: list[site.Page] = []
        entries: list[dict[str, str]] = []
        for rel in order:
            url = site.page_url(rel)
            fragment = html_fragments[rel]
            if refs_page and url != refs_page:
                fragment = fragment.replace('href="#ref-', f'href="{site.relative(url, refs_page)}#ref-')
            number, title, sections = site.headings(fragment)
            doc = next((d for r, d, _, _ in documents if r == rel), None)
            data_files = [str(f) for f in (doc.meta.get("data-files") or [])] if doc else []
            for data_file in data_files:
                source = (root / posixpath.dirname(rel) / data_file)
                if not source.is_file():
                    raise BuildError(f"{rel}: data-files entry '{data_file}' does not exist")
                target = tmp / posixpath.normpath(posixpath.join(posixpath.dirname(rel), data_file))
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
            pages.append(site.Page(rel=rel, url=url, number=number, title=title or rel, body=fragment,
                                   sections=sections, data_files=data_files, appendix=rel in appendices))
            entries.extend(search.page_entries(url, f"{number} {title}".strip(), fragment))
        book = {"title": config.title, "subtitle": config.subtitle, "author": config.author, "date": _book_date(config.date),
                "lang": config.raw.get("lang", "en")}
        _copy_resources(config, tmp, config.resources)
        site.write_site(tmp, pages, book=book, pdf_name=config.pdf_name if pdf_output else None,
                        env=site.environment(root / "templates" / "site"))
        (tmp / "site_libs" / "search-index.js").write_text(search.index_script(entries), encoding="utf-8")
        lap("site")
        notify("site", "written")

        if pdf_output:
            notify("PDF", "typeset")
            chapters = []
            first_appendix = True
            for rel in order:
                is_appendix = rel in appendices
                chapters.append({"rel": rel, "body": typst_fragments[rel],
                                 "starts_appendices": is_appendix and first_appendix})
                first_appendix = first_appendix and not is_appendix
            stamp = pdf.source_date()
            main = pdf.write_main(typst_dir, book={**book, "build_date": stamp.strftime("%Y-%m-%d") if stamp else ""},
                                  chapters=chapters, env=pdf.environment(root / "templates" / "typst"))
            target = tmp / config.pdf_name
            pdf.compile_pdf(main, target)
            report.pdf = target
            lap("typeset")
    finally:
        shutil.rmtree(typst_dir, ignore_errors=True)
