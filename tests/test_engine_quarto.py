"""What Quarto 1.9 does with a book, as tests that need no Quarto.

The facts, checked with a real Quarto on this book: Quarto picks one MIME type per cell output and
format; it adds require.js and jQuery from a CDN to every page where a cell output carries
``text/html`` or ``application/javascript``; it runs a ``.py`` pre-render script with its own
Python (``QUARTO_PYTHON``) and any other command from ``PATH``; it anchors a resource glob at the
project root only when the glob starts with ``/``; its Typst cites in Typst's own numbered style
unless ``citeproc: true``; it numbers a figure or table of an unnumbered chapter "N" on the site
and "0.N" in the PDF; and only 1.9 and later render a book to Typst. ``bookengine.lint`` turns
them into rules, and the engine picks and resolves outputs the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bookengine.config import pre_render_argv
from bookengine.convert import ChapterRenderer, FormatOptions, select_format_content
from bookengine.crossref import Numbering
from bookengine.errors import BuildError
from bookengine.lint import _version_floor, cached_outputs, lint_outputs, lint_project
from bookengine.qmd import parse_file, parse_text

ROOT = Path(__file__).resolve().parents[1]

QUARTO_CONFIG = """project:
  type: book
  pre-render: {pre_render}
  resources:
    - {resource}
book:
  title: X
  chapters: [index.qmd, chapter.qmd]
bibliography: refs.bib
format:
  html: {{}}
  typst:
    papersize: a4{citeproc}
"""
PREFACE = """# Preface {.unnumbered}

```{python}
#| label: fig-overview
#| fig-cap: "Overview."
1
```

```{python}
#| label: tbl-overview
#| tbl-cap: "Overview."
2
```
"""
CHAPTER = "# One\n\n```{python}\n#| label: fig-one\n#| fig-cap: \"One.\"\nchart\n```\n"


def _project(root: Path, *, pre_render: str, resource: str, citeproc: bool, floor: str, preface: str) -> Path:
    (root / "_quarto.yml").write_text(QUARTO_CONFIG.format(
        pre_render=pre_render, resource=resource, citeproc="\n    citeproc: true" if citeproc else ""))
    (root / "refs.bib").write_text("")
    (root / "index.qmd").write_text(preface)
    (root / "chapter.qmd").write_text(CHAPTER)
    (root / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[project.optional-dependencies]\n'
                                         f'quarto = ["quarto-cli{floor}"]\n')
    return root


def test_lint_rejects_what_quarto_renders_unlike_the_engine(tmp_path: Path) -> None:
    root = _project(tmp_path, pre_render="python -m tools.bundle", resource="data/*.csv", citeproc=False,
                    floor=">=1.5", preface=PREFACE)
    outputs = {"chapter.qmd": [[{"output_type": "display_data",
                                 "data": {"text/html": "<div></div>", "text/plain": "chart"}}]]}
    messages = [str(p) for p in lint_project(root, outputs=outputs)]
    assert messages == [
        "_quarto.yml:3: pre-render 'python -m tools.bundle' is not a .py script: Quarto runs it from PATH, "
        "not with its own Python (QUARTO_PYTHON); name the script file instead",
        "_quarto.yml:5: resource 'data/*.csv' is not anchored: Quarto matches it in every folder of the project "
        "(.venv included); write '/data/*.csv'",
        "_quarto.yml:12: format typst: set 'citeproc: true' so the PDF cites in the style of the site "
        "(without it Quarto's Typst cites in Typst's own numbered style)",
        "pyproject.toml:5: extra 'quarto' asks for 'quarto-cli>=1.5': a Typst book needs Quarto 1.9 or later "
        "(write quarto-cli>=1.9)",
        "index.qmd:3: 'fig-overview' in an unnumbered chapter: Quarto numbers it 1 on the site and 0.1 in the "
        "PDF; give it no label and caption",
        "index.qmd:9: 'tbl-overview' in an unnumbered chapter: Quarto numbers it 1 on the site and 0.1 in the "
        "PDF; give it no label and caption",
        "chapter.qmd:3: cell 'fig-one': output 1 carries text/html: Quarto then loads require.js and jQuery "
        "from a CDN on this page",
    ]


def test_lint_accepts_the_forms_quarto_renders_like_the_engine(tmp_path: Path) -> None:
    root = _project(tmp_path, pre_render="tools/bundle.py --quiet", resource="/data/*.csv", citeproc=True,
                    floor=">=1.9.0", preface="# Preface {.unnumbered}\n\n```{python}\n#| label: overview\n1\n```\n")
    outputs = {"chapter.qmd": [[{"output_type": "display_data",
                                 "data": {"text/markdown": "![](x.svg)", "text/plain": "chart"}}]]}
    assert lint_project(root, outputs=outputs) == []


@pytest.mark.parametrize(("requirement", "floor"), [
    ("quarto-cli>=1.9", (1, 9)), ("quarto-cli >= 1.10.2", (1, 10, 2)), ("quarto-cli==1.9.38", (1, 9, 38)),
    ("quarto-cli~=1.9", (1, 9)), ("quarto-cli>=1.8,<2", (1, 8)), ("quarto-cli", None),
])
def test_version_floor(requirement: str, floor: tuple[int, ...] | None) -> None:
    assert _version_floor(requirement) == floor


def test_pre_render_runs_a_py_script_with_the_given_python_and_anything_else_from_path() -> None:
    assert pre_render_argv("analysis/charts/bundle.py", "/env/bin/python") == ["/env/bin/python",
                                                                              "analysis/charts/bundle.py"]
    assert pre_render_argv("tools/Prepare.PY 'a b'", "/env/bin/python") == [
        "/env/bin/python", "tools/Prepare.PY", "a b"]
    assert pre_render_argv("python -m analysis.charts.bundle", "/env/bin/python") == [
        "python", "-m", "analysis.charts.bundle"]


# -- one MIME type per output and format, in Quarto's order ----------------------------------

def _render(tmp_path: Path, data: dict[str, str], fmt: str, label: str = "out") -> tuple[str, list[str]]:
    document = parse_text(f"# One\n\n```{{python}}\n#| label: {label}\nx\n```\n", Path("one.qmd"))
    numbering = Numbering([("one.qmd", document, False)])
    written: list[str] = []

    def write_asset(name: str, content: bytes) -> str:
        written.append(name)
        return f"files/{name}"

    renderer = ChapterRenderer("one.qmd", document, [[{"output_type": "display_data", "data": data}]], {},
                               numbering, FormatOptions(name=fmt, echo=False), lambda target: "#", write_asset,
                               root=tmp_path)
    return renderer.markdown(), written


SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="384" height="100"><rect width="10" height="10"/></svg>'
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="


def _body(markdown: str) -> str:
    """The cell's part of a rendered chapter: no heading, no cell div, no blank lines."""
    lines = markdown.splitlines()[1:]
    return "\n".join(line for line in lines if line.strip() and line not in ("::: {.cell}", ":::"))


PLAIN = "``` {.cell-output}\np\n```"


@pytest.mark.parametrize(("data", "html", "typst"), [
    ({"text/html": "<b>h</b>", "text/markdown": "**m**", "image/svg+xml": SVG, "text/plain": "p"},
     "```{=html}\n<b>h</b>\n```", "**m**"),
    ({"text/markdown": "**m**", "image/svg+xml": SVG, "text/plain": "p"}, "**m**", "**m**"),
    ({"image/svg+xml": SVG, "image/png": PNG, "text/plain": "p"},
     "![](files/one-out-0.svg)", "![](files/one-out-0.pdf){width=50%}"),
    ({"image/jpeg": PNG, "text/plain": "p"}, "![](files/one-out-0.jpg)", "![](files/one-out-0.jpg)"),
    ({"application/javascript": "run()", "text/plain": "p"},
     '```{=html}\n<script type="application/javascript">\nrun()\n</script>\n```', PLAIN),
    ({"text/plain": "p"}, PLAIN, PLAIN),
])
def test_engine_picks_the_mime_type_quarto_picks(tmp_path: Path, data: dict[str, str], html: str, typst: str) -> None:
    assert _body(_render(tmp_path, data, "html")[0]) == html
    assert _body(_render(tmp_path, data, "typst")[0]) == typst


def test_conditional_content_keeps_the_block_of_the_format_and_drops_the_rest() -> None:
    source = (
        "intro\n\n"
        '::: {.content-visible when-format="html"}\nsite only\n\n::: {.note}\nnested\n:::\n\n```\n:::\n```\n:::\n\n'
        '::: {.content-visible unless-format="html"}\n![](chart.svg)\n:::\n\n'
        '::: {.content-hidden when-format="typst"}\nnot in the PDF\n:::\n\n'
        "::: {.content-visible when-profile=\"draft\"}\ndraft only\n:::\n\n"
        "::: {.aside}\nkept\n:::\n"
    )
    site = select_format_content(source, "html")
    assert site == ("intro\n\nsite only\n\n::: {.note}\nnested\n:::\n\n```\n:::\n```\n\n\nnot in the PDF\n\n\n"
                    "::: {.aside}\nkept\n:::\n")
    pdf = select_format_content(source, "typst")
    assert pdf == "intro\n\n\n![](chart.svg)\n\n\n\n::: {.aside}\nkept\n:::\n"


def test_markdown_output_images_are_copied_and_an_svg_becomes_a_vector_pdf(tmp_path: Path) -> None:
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / "c.svg").write_text(SVG)
    data = {"text/markdown": '::: {.content-visible when-format="html"}\n```{=html}\n<div class="atlas-chart"></div>\n'
                             '```\n:::\n\n::: {.content-visible unless-format="html"}\n![](charts/c.svg)\n:::\n'}
    site, site_files = _render(tmp_path, data, "html", label="fig-one")
    assert '<div class="atlas-chart"></div>' in site and site_files == []
    pdf, pdf_files = _render(tmp_path, data, "typst", label="fig-one")
    assert pdf_files == ["one-fig-one-0.pdf"]
    assert "![Figure\u00a01.1](files/one-fig-one-0.pdf){#fig-one width=50%}" in pdf  # 384 px of the 768 px column
    (tmp_path / "charts" / "c.svg").unlink()
    missing = r"^one.qmd:3: cell 'fig-one' shows the image charts/c.svg, which does not exist$"
    with pytest.raises(BuildError, match=missing):
        _render(tmp_path, data, "typst", label="fig-one")


# -- the book itself -----------------------------------------------------------------------

def test_no_executed_output_of_the_book_makes_quarto_load_a_cdn_script(real_book) -> None:
    outputs = cached_outputs(ROOT)
    assert set(outputs) == set(real_book_documents())
    problems = [str(p) for rel, cells in outputs.items() for p in lint_outputs(rel, parse_file(ROOT / rel), cells)]
    assert problems == []
    figures = charts = 0
    for rel, cells in outputs.items():
        for cell, cell_outputs in zip(parse_file(ROOT / rel).cells, cells):
            if (cell.label or "").startswith("fig-"):
                figures += 1
                markdown = "".join(o.get("data", {}).get("text/markdown", "") for o in cell_outputs)
                charts += 'class="atlas-chart"' in markdown and "../.atlas-charts/" in markdown
    assert figures >= 11 and charts == figures


def real_book_documents() -> list[str]:
    from bookengine.config import load_config

    return load_config(ROOT).documents
