"""Unit tests of the engine's parsing, numbering, lint and import boundary (no execution)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bookengine.convert import SITE_COLUMN_PX, chart_print_width, escape_markdown, rebase_links, to_typst
from bookengine.crossref import Numbering
from bookengine.errors import BuildError
from bookengine.lint import lint_project
from bookengine.qmd import parse_text

ROOT = Path(__file__).resolve().parents[1]
MINIBOOK = Path(__file__).parent / "fixtures" / "minibook"

SOURCE = '''---
title: "T"
---

Text with `{python} x + 1` and `{python} name`.

```{python}
#| label: fig-a
#| fig-cap: "A caption"

x = 1
y = 2
```

```python
# not a cell: `{python} ignored`
```

## Part {#sec-part}
'''


def test_parse_cells_options_lines_and_inline():
    document = parse_text(SOURCE, Path("c.qmd"))
    assert document.meta == {"title": "T"}
    [cell] = document.cells
    assert cell.options == {"label": "fig-a", "fig-cap": "A caption"}
    assert cell.code == "x = 1\ny = 2"
    assert cell.line == 7  # the opening fence
    assert cell.code_line == 11  # "x = 1", after two option lines and a blank line
    assert document.inline_expressions() == {"x + 1": 5, "name": 5}  # expression -> source line


def test_unclosed_cell_names_file_and_line():
    with pytest.raises(BuildError, match=r"c.qmd:3: code cell is not closed"):
        parse_text("text\n\n```{python}\nx = 1\n", Path("c.qmd"))


def _documents(*texts: str):
    return [(f"c{i}.qmd", parse_text(text, Path(f"c{i}.qmd")), False) for i, text in enumerate(texts)]


def test_chapter_based_numbering_and_references():
    preface = "# Preface {.unnumbered}\n\nSee @fig-b and [-@tbl-c].\n"
    one = "# One\n\n## A {#sec-a}\n\n```{python}\n#| label: fig-a\n1\n```\n"
    two = ("# Two {#sec-two}\n\n## Skip {.unnumbered}\n\n## B {#sec-b}\n\n```{python}\n#| label: fig-b\n1\n```\n"
           "\n```{python}\n#| label: tbl-c\n1\n```\n")
    numbering = Numbering(_documents(preface, one, two))
    targets = numbering.targets
    assert (targets["fig-a"].number, targets["fig-b"].number, targets["tbl-c"].number) == ("1.1", "2.1", "2.1")
    assert targets["sec-a"].number == "1.1" and targets["sec-b"].number == "2.1"  # unnumbered heading skipped
    assert targets["sec-two"].text() == "Chapter\u00a02"
    resolved = numbering.resolve("See @fig-b and [-@tbl-c]; mail a@fig-b stays.", "c0.qmd", lambda t: f"#{t.label}")
    assert resolved == "See [Figure\u00a02.1](#fig-b) and [2.1](#tbl-c); mail a@fig-b stays."


def test_unknown_and_duplicate_labels_are_errors():
    numbering = Numbering(_documents("# One\n"))
    with pytest.raises(BuildError, match="unknown cross-reference @fig-missing"):
        numbering.resolve("@fig-missing", "c0.qmd", lambda t: "")
    with pytest.raises(BuildError, match="duplicate label 'sec-x'"):
        Numbering(_documents("# One\n\n## A {#sec-x}\n", "# Two\n\n## B {#sec-x}\n"))


def test_escape_markdown_keeps_markup_as_text():
    assert escape_markdown("<script>*x*</script>") == "\\<script\\>\\*x\\*\\</script\\>"


def test_pdf_links_are_relative_to_the_book_root_where_the_pdf_sits():
    typst = ('#link("../data/x.csv")[a] #link("../index.html#key")[b] #link("notes.txt?v=2")[c] '
             '#link("https://x.org/a")[d] #link("#top")[e] #link(<ref-x>)[f]')
    assert rebase_links(typst, "appendices/data.qmd") == (
        '#link("data/x.csv")[a] #link("index.html#key")[b] #link("appendices/notes.txt?v=2")[c] '
        '#link("https://x.org/a")[d] #link("#top")[e] #link(<ref-x>)[f]')


def test_pdf_keeps_a_paragraph_ending_in_a_colon_with_what_it_introduces():
    markdown = ("To rebuild the book ([see](x.html)):\n\n```sh\nmake site\n```\n\nThree kinds:\n\n- one\n- two\n\n"
                "A ratio:\n\n$$x = 1$$\n\nNo colon.\n\n```sh\nmake\n```\n")
    typst = to_typst(markdown, "test", [], with_bibliography=False)
    assert typst.count("#block(sticky: true)[") == 3
    assert '#block(sticky: true)[To rebuild the book (#link("x.html")[see]):]\n\n```sh' in typst
    assert "#block(sticky: true)[Three kinds:]\n\n- one" in typst


def test_minibook_passes_lint():
    assert lint_project(MINIBOOK) == []


def test_lint_rejects_features_outside_the_subset(tmp_path):
    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\nbook:\n  title: X\n  chapters: [index.qmd]\n"
                                          "filters: [x.lua]\n")
    (tmp_path / "index.qmd").write_text(
        "# X\n\n{{< include other.qmd >}}\n\n`{r} 1 + 1`\n\n::: {.panel-tabset}\n:::\n\n"
        "```{r}\n1\n```\n\n```{python}\n#| fig-width: 3\n1\n```\n")
    messages = [str(p) for p in lint_project(tmp_path)]
    assert "_quarto.yml:1: unsupported top-level key 'filters'" in messages
    assert "index.qmd:3: shortcode '{{< include other.qmd >}}' is not supported" in messages
    assert "index.qmd:5: inline `{r}` code is not supported" in messages
    assert "index.qmd:7: div class '.panel-tabset' is not supported" in messages
    assert "index.qmd:10: {r} cells are not supported (python only)" in messages
    assert "index.qmd:14: unsupported cell option '#| fig-width'" in messages


def _real_book_ready() -> bool:
    from bookengine.config import load_config

    try:
        load_config(ROOT)
    except BuildError:
        return False
    return True


@pytest.mark.skipif(not _real_book_ready(), reason="the real book (_quarto.yml and every chapter) is not written yet")
def test_real_book_passes_lint():
    assert [str(p) for p in lint_project(ROOT)] == []


def test_engine_never_imports_analysis():
    for path in sorted((ROOT / "bookengine").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "analysis" or n.startswith("analysis.") for n in names), f"{path} imports analysis"
    code = ("import sys, bookengine.build, bookengine.commands, bookengine.preview, bookengine.lint; "
            "print(any(m == 'analysis' or m.startswith('analysis.') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(("svg_px", "share"), [(SITE_COLUMN_PX // 2, "50%"), (SITE_COLUMN_PX, "100%"), (2000, "100%")])
def test_chart_takes_the_same_share_of_the_pdf_text_width_as_of_the_site_column(svg_px: int, share: str) -> None:
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" class="marks" width="{svg_px}" height="200"><g/></svg>'
    assert chart_print_width(svg) == "{width=" + share + "}"
    assert chart_print_width("<svg><g/></svg>") == ""



def test_every_option_of_build_and_preview_says_what_it_does() -> None:
    import argparse

    from bookengine.commands import register

    parser = argparse.ArgumentParser(prog="atlas")
    register(parser.add_subparsers())
    commands = parser._subparsers._group_actions[0].choices
    for name in ("build", "preview"):
        assert commands[name].description, name
        for action in commands[name]._actions:
            assert action.help, f"atlas {name} {action.option_strings} has no help text"


def test_search_text_reads_math_and_punctuation_and_leaves_out_chart_buttons() -> None:
    from bookengine.search import page_entries

    fragment = ('<h2 id="sec-a">A <em>section</em></h2><p>The size <math><semantics><msub><mi>N</mi><mtext>opt</mtext>'
                '</msub><annotation encoding="application/x-tex">N_\\text{opt}</annotation></semantics></math> grows '
                '(<a href="#fig-b">Figure 1.2</a>), as <em>C</em><sup>0.5</sup>.</p><div class="atlas-chart"></div>'
                '<div class="atlas-chart-tools" id="t"><span>Download:</span> <button>Data</button> <button>SVG</button>'
                '</div><table><tr><td>one</td><td>two</td></tr></table>')
    [entry] = page_entries("chapters/a.html", "Chapter", fragment)
    assert entry["section"] == "A section" and entry["url"] == "chapters/a.html#sec-a"
    assert entry["text"] == "The size Nopt grows (Figure 1.2), as C0.5. one two"
