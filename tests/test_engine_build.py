"""End-to-end builds of the minibook: site, PDF, cache, atomicity, determinism, errors, CLI."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from bookengine.build import build
from bookengine.errors import BuildError

MINIBOOK = Path(__file__).parent / "fixtures" / "minibook"


def copy_minibook(target: Path, bundle: Path) -> Path:
    shutil.copytree(MINIBOOK, target, ignore=shutil.ignore_patterns("_book", ".atlas-cache", ".atlas-charts", "assets",
                                                                    "__pycache__"))
    (target / "assets" / "vega").mkdir(parents=True)
    shutil.copy(bundle, target / "assets" / "vega" / "vega-bundle.js")
    return target


@pytest.fixture(scope="module")
def built(tmp_path_factory, vega_bundle):
    root = copy_minibook(tmp_path_factory.mktemp("engine") / "minibook", vega_bundle)
    report = build(root)
    return root, report


def test_site_pages_numbers_links_and_citations(built):
    root, report = built
    out = root / "_book"
    assert report.executed and sorted(report.executed) == ["chapters/growth.qmd", "chapters/tables.qmd", "index.qmd"]
    for page in ["index.html", "chapters/growth.html", "chapters/tables.html", "appendices/notes.html",
                 "references.html", "site_libs/search-index.js", "assets/vega/vega-bundle.js", "chapters/data/points.csv"]:
        assert (out / page).is_file(), page
    growth = (out / "chapters/growth.html").read_text()
    assert '<span class="header-section-number">1</span> Growth of scores</h1>' in growth
    assert '<a href="tables.html#tbl-points">Table\u00a02.1</a>' in growth
    assert '<figure id="fig-growth" class="atlas-figure">' in growth
    assert "Figure\u00a01.1: Score against compute" in growth
    assert '<div class="atlas-chart"' in growth and "vegaEmbed" in growth
    assert "4.43 points per decade" in growth  # inline expression: (74.8 - 61.5) / 3
    assert 'href="../references.html#ref-hoffmann2022"' in growth
    assert '<details class="code-fold"><summary>Code</summary>' in growth
    assert '<a href="data/points.csv" download>points.csv</a>' in growth
    assert 'class="callout callout-note"' in growth and "Reading the chart" in growth
    assert "<math" in growth and "mathjax" not in growth.lower()
    notes = (out / "appendices/notes.html").read_text()
    assert '<span class="header-section-number">A.1</span> Method' in notes
    assert '<a href="../chapters/tables.html#sec-tables">Chapter\u00a02</a>' in notes
    index = (out / "index.html").read_text()
    assert "Section\u00a0A.1" in index and "computes 5 with" in index
    assert "def total" not in index and "total = 2 + 3" not in index  # echo: false
    references = (out / "references.html").read_text()
    assert 'id="ref-hoffmann2022"' in references and 'id="ref-kaplan2020"' in references


def test_markup_in_data_stays_text(built):
    root, _ = built
    tables = (root / "_book/chapters/tables.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in tables
    assert "<script>alert(1)" not in tables
    growth = (root / "_book/chapters/growth.html").read_text()
    assert "<script>alert(1)" not in growth  # the chart's JSON escapes '<'
    text = "\n".join(page.extract_text() for page in PdfReader(root / "_book/Mini-Atlas.pdf").pages)
    assert "<script>alert(1)</script>" in text


def test_pdf_has_toc_chapters_figures_and_bibliography(built):
    root, report = built
    reader = PdfReader(report.pdf)
    text = "\n".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert titles[:4] == ["Preface", "1 Growth of scores", "2 Tables", "A Notes"]
    assert "Contents" in text
    assert "Figure 1.1: Score against compute" in text
    assert "Table 2.1: The models and their scores." in text
    assert re.search(r"Hoffmann, Jordan, Sebastian Borgeaud, and Arthur Mensch\.\s+2022", text)
    assert "Appendices" in text
    # the chart is vector graphics: its tick labels are text in the PDF
    assert "Compute (GFLOP)" in text
    # cross-references are links inside the document (a destination, or a go-to action), not only web links
    links = [a.get_object() for page in reader.pages for a in page.get("/Annots", []) or []]
    assert any(internal_link(a) for a in links)


def internal_link(annotation) -> bool:
    """Whether a PDF annotation is a link to a place in the same document."""
    if annotation.get("/Subtype") != "/Link":
        return False
    action = annotation.get("/A")
    return "/Dest" in annotation or (action is not None and action.get_object().get("/S") == "/GoTo")


def test_internal_link_check_rejects_web_links():
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    web = DictionaryObject({NameObject("/Subtype"): NameObject("/Link"), NameObject("/A"): DictionaryObject(
        {NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject("https://example.org")})})
    jump = DictionaryObject({NameObject("/Subtype"): NameObject("/Link"), NameObject("/A"): DictionaryObject(
        {NameObject("/S"): NameObject("/GoTo"), NameObject("/D"): TextStringObject("sec-growth-trend")})})
    assert not internal_link(web) and internal_link(jump)


def test_no_change_rebuild_executes_nothing_and_data_change_reexecutes(built):
    root, _ = built
    again = build(root)
    assert again.executed == [] and len(again.cached) == 3
    csv = root / "chapters/data/points.csv"
    csv.write_text(csv.read_text().replace("61.5", "62.5"))
    changed = build(root)
    assert sorted(changed.executed) == ["chapters/growth.qmd", "chapters/tables.qmd"]
    assert "4.10 points per decade" in (root / "_book/chapters/growth.html").read_text()
    forced = build(root, use_cache=False, pdf_output=False)
    assert len(forced.executed) == 3


def test_chart_files_are_covered_by_the_cache(built):
    """The static SVG a chart writes for the PDF is a dependency of the chapter's cache entry."""
    root, _ = built
    assert build(root, pdf_output=False).executed == [] and list((root / ".atlas-charts").glob("*.svg"))
    shutil.rmtree(root / ".atlas-charts")
    again = build(root)
    assert again.executed == ["chapters/growth.qmd"]
    [chart] = (root / ".atlas-charts").glob("*.svg")
    assert chart.read_text().startswith("<svg")
    assert "Compute (GFLOP)" in "".join(page.extract_text() for page in PdfReader(again.pdf).pages)


def test_build_date_change_reexecutes_every_chapter(built, monkeypatch):
    root, _ = built
    build(root, pdf_output=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")
    dated = build(root, pdf_output=False)
    assert len(dated.executed) == 3
    assert build(root, pdf_output=False).executed == []


def test_failing_cell_names_chapter_label_and_line_and_keeps_site(tmp_path, vega_bundle):
    root = copy_minibook(tmp_path / "book", vega_bundle)
    build(root, pdf_output=False)
    before = (root / "_book/chapters/tables.html").read_bytes()
    source = root / "chapters/tables.qmd"
    source.write_text(source.read_text().replace('markdown_table(pd.read_csv("data/points.csv"))',
                                                 "1 / 0"))
    with pytest.raises(BuildError) as error:
        build(root)
    message = str(error.value)
    assert message == "chapters/tables.qmd:12: cell 'tbl-points' failed: ZeroDivisionError: division by zero"
    assert (root / "_book/chapters/tables.html").read_bytes() == before
    assert not [p for p in root.iterdir() if ".building-" in p.name]


def test_failed_build_from_the_command_line_prints_one_line(tmp_path, vega_bundle):
    root = copy_minibook(tmp_path / "book", vega_bundle)
    source = root / "chapters/tables.qmd"
    source.write_text(source.read_text().replace('markdown_table(pd.read_csv("data/points.csv"))', "1 / 0"))
    result = subprocess.run([sys.executable, "-m", "analysis", "build", "--project", str(root), "--engine", "builtin"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr == ("atlas: error: chapters/tables.qmd:12: cell 'tbl-points' failed: "
                             "ZeroDivisionError: division by zero\n")


def test_failing_inline_expression_names_chapter_and_line(tmp_path, vega_bundle):
    root = copy_minibook(tmp_path / "book", vega_bundle)
    source = root / "chapters/growth.qmd"
    source.write_text(source.read_text().replace("`{python} len(points)`", "`{python} len(no_such_name)`"))
    with pytest.raises(BuildError) as error:
        build(root, pdf_output=False)
    assert str(error.value) == ("chapters/growth.qmd:22: inline expression `{python} len(no_such_name)` failed: "
                                "NameError: name 'no_such_name' is not defined")


def test_two_clean_builds_are_byte_identical(tmp_path, vega_bundle, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    outputs = []
    for name in ("a", "b"):
        root = copy_minibook(tmp_path / name, vega_bundle)
        build(root, use_cache=False)
        outputs.append({p.relative_to(root / "_book"): p.read_bytes()
                        for p in sorted((root / "_book").rglob("*")) if p.is_file()})
    assert outputs[0].keys() == outputs[1].keys()
    different = [str(k) for k in outputs[0] if outputs[0][k] != outputs[1][k]]
    assert different == []


def test_quarto_engine_runs_quarto_render(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "args.txt"
    fake = bin_dir / "quarto"
    fake.write_text(f'#!/bin/sh\necho "$@" > {log}\necho "$QUARTO_PYTHON" >> {log}\nmkdir -p "$2/_out"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("QUARTO_PYTHON", raising=False)
    project = tmp_path / "book"
    shutil.copytree(MINIBOOK, project)
    from analysis.cli import main

    assert main(["build", "--project", str(project), "--output-dir", "_out", "--no-cache"]) == 0
    arguments, python = log.read_text().splitlines()
    assert arguments.split() == ["render", str(project), "--output-dir", "_out", "--cache-refresh"]
    # Quarto runs kernels and .py pre-render scripts with the Python of the environment running atlas
    assert python == sys.executable
    assert not (project / "_book").exists()  # auto picked Quarto; the built-in engine did not run
    monkeypatch.setenv("QUARTO_PYTHON", "/opt/other/python")
    assert main(["build", "--project", str(project), "--engine", "quarto"]) == 0
    assert log.read_text().splitlines()[1] == "/opt/other/python"  # a Python the user chose is kept


def test_cli_reports_bad_config_in_one_line(tmp_path, capsys):
    from analysis.cli import main

    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\nbook:\n  title: X\n  chapters: [missing.qmd]\n")
    assert main(["build", "--engine", "builtin", "--project", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.strip().endswith("chapter file missing.qmd does not exist") and err.count("\n") == 1
