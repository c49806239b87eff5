"""The real book's PDF as a reader sees it, checked with pypdf against the book's sources.

Expected titles, figure numbers, captions and references come from ``_quarto.yml``, the
``.qmd`` files and ``references.bib`` (parsed here, not through the engine), so a heading,
figure or reference the PDF loses is caught whatever the engine does.
"""

from __future__ import annotations

import io
import json
import re
import string
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from bookengine import convert, pdf

ROOT = Path(__file__).resolve().parents[1]
FRONT_TITLE = re.compile(r'^title:\s*"?(?P<title>.*?)"?\s*$', re.MULTILINE)
H1 = re.compile(r"^# (?P<title>.+?)\s*(\{[^}]*\})?\s*$", re.MULTILINE)
FIG_LABEL = re.compile(r"^#\| label: (fig-[\w-]+)", re.MULTILINE)
FIG_CAP = re.compile(r'^#\| fig-cap: "(?P<cap>[^"]*)"', re.MULTILINE)
CITATION = re.compile(r"(?<![\w.])@([A-Za-z][\w:-]*)")


def squeeze(text: str) -> str:
    """Letters and digits only, lower case: immune to line breaks, hyphenation and spacing."""
    return re.sub(r"[\W_]+", "", text.replace("\u00a0", " ")).lower()


def document_title(source: str) -> str:
    body = source
    if source.startswith("---"):
        front, body = source[3:].split("\n---", 1)
        match = FRONT_TITLE.search(front)
        if match:
            return match.group("title")
    return H1.search(body).group("title")


def expected_chapters() -> list[tuple[str, str, Path]]:
    """(number, title, path) of every document in reading order: preface, 1.., A.."""
    config = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))["book"]
    documents: list[tuple[str, str, Path]] = []
    number = 0
    for rel in config["chapters"]:
        source = (ROOT / rel).read_text(encoding="utf-8")
        if rel == "index.qmd":
            documents.append(("", document_title(source), ROOT / rel))
            continue
        number += 1
        documents.append((str(number), document_title(source), ROOT / rel))
    for letter, rel in zip(string.ascii_uppercase, config.get("appendices", [])):
        documents.append((letter, document_title((ROOT / rel).read_text(encoding="utf-8")), ROOT / rel))
    return documents


def bib_titles() -> dict[str, str]:
    text = (ROOT / "references.bib").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=@\w+\{)", "\n" + text)
    titles = {}
    for entry in entries:
        key = re.match(r"\s*@\w+\{([^,]+),", entry)
        title = re.search(r"\btitle\s*=\s*[{\"](.+?)[}\"],?\s*\n", entry, re.DOTALL)
        if key and title:
            titles[key.group(1).strip()] = title.group(1).replace("{", "").replace("}", "")
    return titles


@pytest.fixture(scope="module")
def book_pdf(real_book) -> PdfReader:
    assert real_book.pdf is not None and real_book.pdf.is_file()
    return PdfReader(real_book.pdf)


@pytest.fixture(scope="module")
def page_texts(book_pdf) -> list[str]:
    return [page.extract_text().replace("\u00a0", " ") for page in book_pdf.pages]


def outline_entries(reader: PdfReader) -> list[tuple[int, str, int]]:
    """(depth, title, page index) of every bookmark, in order."""
    entries: list[tuple[int, str, int]] = []

    def walk(items, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                entries.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return entries


def test_title_page_contents_and_no_blank_page(book_pdf, page_texts):
    config = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))["book"]
    assert page_texts[0].startswith(config["title"])
    assert squeeze(config["subtitle"]) in squeeze(page_texts[0])
    assert page_texts[1].startswith("Contents")
    blank = [index + 1 for index, text in enumerate(page_texts) if not text.strip()]
    assert blank == []
    assert book_pdf.metadata.title == config["title"]


def test_outline_and_contents_list_every_chapter_and_appendix(book_pdf, page_texts):
    top = [(title, page) for depth, title, page in outline_entries(book_pdf) if depth == 0]
    expected = [f"{number} {title}".strip() for number, title, _ in expected_chapters()] + ["References"]
    assert [title for title, _ in top] == expected
    # The contents (from the page after the title to the first chapter, however many pages that is)
    # give each chapter's printed page number, and the bookmark lands there.
    labels = book_pdf.page_labels
    contents = "\n".join(page_texts[1:top[0][1]])
    for title, page in top:
        words = r"\s+".join(re.escape(word) for word in title.split())
        match = re.search(words + r"[\s.]*?(\d+)\s*$", contents, re.MULTILINE)
        assert match, f"{title!r} is not in the contents"
        assert match.group(1) == labels[page], title
        # The heading is on the page its bookmark opens.
        assert squeeze(title) in squeeze(page_texts[page]), f"{title!r} is not on page {labels[page]}"
    pages = [page for _, page in top]
    assert pages == sorted(pages) and labels[pages[0]] == "1"


def test_running_heads_and_page_numbers(book_pdf, page_texts):
    labels = book_pdf.page_labels
    top = [(title, page) for depth, title, page in outline_entries(book_pdf) if depth == 0]
    starts = {page for _, page in top}
    checked = 0
    for (title, first), (_, following) in zip(top, top[1:] + [("", len(page_texts))]):
        for page in range(first + 1, following):
            text = " ".join(page_texts[page].split())
            if text.startswith("Appendices"):
                continue  # the divider page before the appendices
            assert text.startswith(f"{title} {labels[page]}"), f"page {labels[page]}: {text[:60]!r}"
            checked += 1
    assert checked >= 5
    for page in starts:  # a chapter's first page has its number centred at the foot instead
        assert page_texts[page].rstrip().endswith(labels[page])


def test_chapters_start_on_a_new_page_after_their_own_figures_and_tables(book_pdf, page_texts):
    """Every chapter, appendix and the references open a page (no running head above the title), and
    every figure or table caption lies between its chapter's first page and the next one's: floats never
    drift into the next chapter or the bibliography."""
    top = [(title, page) for depth, title, page in outline_entries(book_pdf) if depth == 0]
    starts = [page for _, page in top]
    for title, page in top:
        opening = squeeze(page_texts[page]).removeprefix("appendices")
        assert opening.startswith(squeeze(title)), f"{title!r} does not open page {book_pdf.page_labels[page]}"
    chapter_of_page = [None] * len(page_texts)
    for (title, first), following in zip(top, starts[1:] + [len(page_texts)]):
        number = title.split()[0]
        for page in range(first, following):
            chapter_of_page[page] = number
    captions = 0
    for page, text in enumerate(page_texts):
        for kind, number in re.findall(r"\b(Figure|Table) ([0-9]+|[A-Z])\.\d+:", text):
            captions += 1
            assert chapter_of_page[page] == number, f"{kind} {number}.x on page {book_pdf.page_labels[page]}"
    assert captions >= 20


def test_every_figure_has_its_numbered_caption_next_to_a_vector_chart(book_pdf, page_texts):
    text = "\n".join(page_texts)
    flat = squeeze(text)
    figures = 0
    for number, _title, path in expected_chapters():
        source = path.read_text(encoding="utf-8")
        labels = FIG_LABEL.findall(source)
        captions = FIG_CAP.findall(source)
        assert len(captions) == len(labels), path
        for index, caption in enumerate(captions, start=1):
            figures += 1
            assert f"Figure {number}.{index}:" in text, f"Figure {number}.{index}"
            words = " ".join(re.split(r"[$@]", caption)[0].split()[:8])  # the words before any math or reference
            assert squeeze(f"Figure {number}.{index}: {words}") in flat, f"caption of Figure {number}.{index}"
        assert f"Figure {number}.{len(labels) + 1}:" not in text
    assert figures >= 5
    # Charts are vector graphics: no raster image anywhere, and the chart text is real text
    # set in the print font (chart XObjects carry DejaVu Sans, whose superscript digits label the axes).
    chart_fonts: set[str] = set()

    def walk(resources, inside_form: bool) -> None:
        resources = resources.get_object() if resources else {}
        for font in (resources.get("/Font") or {}).values():
            if inside_form:
                chart_fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            assert xobject["/Subtype"] != "/Image", "a raster image in the PDF"
            walk(xobject.get("/Resources"), True)

    for page in book_pdf.pages:
        walk(page.get("/Resources"), False)
    assert chart_fonts == {"DejaVuSans"} or chart_fonts == {"DejaVuSans", "DejaVuSans-Bold"}


def test_chart_axis_titles_are_text_in_the_pdf(real_book, page_texts):
    """Axis titles of every chart spec on the site (the same charts) are searchable PDF text."""

    flat = squeeze("\n".join(page_texts))
    titles: set[str] = set()

    def collect(node) -> None:
        if isinstance(node, dict):
            for channel in ("x", "y"):
                encoding = node.get("encoding", {}).get(channel)
                if isinstance(encoding, dict) and isinstance(encoding.get("title"), str):
                    titles.add(encoding["title"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    for page in sorted(real_book.output.rglob("*.html")):
        for spec in re.findall(r'<script type="application/json" id="atlas-chart-[^"]*">(.*?)</script>',
                               page.read_text(encoding="utf-8"), re.DOTALL):
            collect(json.loads(spec))
    assert len(titles) >= 5
    missing = [title for title in titles if squeeze(title) not in flat]
    assert missing == []


def test_bibliography_lists_every_cited_work(book_pdf, page_texts):
    titles = bib_titles()
    cited = {key for _, _, path in expected_chapters()
             for key in CITATION.findall(path.read_text(encoding="utf-8")) if key in titles}
    assert len(cited) >= 10
    references = next(page for depth, title, page in outline_entries(book_pdf) if title == "References")
    bibliography = squeeze("\n".join(page_texts[references:]))
    missing = [key for key in sorted(cited) if squeeze(" ".join(titles[key].split()[:5])) not in bibliography]
    assert missing == []


def test_cross_references_and_citations_are_internal_links(book_pdf):
    named = book_pdf.named_destinations
    targets: list[int] = []
    uris = 0
    for page in book_pdf.pages:
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            if annotation.get("/Subtype") != "/Link":
                continue
            if "/Dest" in annotation:
                dest = annotation["/Dest"]
                if isinstance(dest, str):  # a named destination (Typst names labelled targets)
                    targets.append(book_pdf.get_destination_page_number(named[dest]))
                else:
                    targets.append(book_pdf.get_page_number(dest[0].get_object()))
            elif annotation.get("/A", {}).get("/S") == "/URI":
                uris += 1
    references = next(page for depth, title, page in outline_entries(book_pdf) if title == "References")
    sources = "".join(path.read_text(encoding="utf-8") for _, _, path in expected_chapters())
    cross_refs = len(re.findall(r"(?<![\w.])\[?-?@(?:fig|tbl|sec)-", sources))
    assert len(targets) >= cross_refs
    assert all(0 <= target < len(book_pdf.pages) for target in targets)
    assert sum(target >= references for target in targets) >= 10  # citations jump to the bibliography
    assert uris >= 10  # DOIs / URLs in the bibliography


def test_apostrophes_never_print_as_opening_quotes(page_texts):
    """"Kaplan et al.'s" and "XTC-BERT*'s" keep their apostrophe (Typst's smart quotes would open a quote)."""
    text = "\n".join(page_texts)
    assert "al.’s" in text or "al.'s" in text
    assert re.findall(r"[\w.*)]‘", text) == []


def test_headings_unhyphenated_and_short_relations_kept_on_one_line(book_pdf, page_texts):
    """No heading breaks inside a word ("re-duction"); a line never ends at the relation of
    "a = 0.73" or "(>= 0", whose value would start the next line."""
    for _depth, title, page in outline_entries(book_pdf):
        assert " ".join(title.split()) in " ".join(page_texts[page].split()), title
    stranded = [line for text in page_texts for line in text.splitlines()
                if re.search(r"(?:[=<>∝≈]|[<>]=)\s*$", line)]
    assert stranded == []


def test_every_relative_link_resolves_beside_the_pdf(real_book, book_pdf):
    """A link that is not a URL opens a file of the site the PDF sits in (the data downloads)."""
    relative = []
    for page in book_pdf.pages:
        for annotation in page.get("/Annots") or []:
            uri = str(annotation.get_object().get("/A", {}).get("/URI", ""))
            if uri and not re.match(r"^[a-zA-Z][\w+.-]*:", uri):
                relative.append(uri.split("#")[0])
    assert len(relative) >= 5  # one download per curated table
    base = real_book.pdf.parent
    missing = [uri for uri in relative if not (base / uri).resolve().is_file()
               or not (base / uri).resolve().is_relative_to(base.resolve())]
    assert missing == []


def test_markup_and_typst_syntax_in_data_print_as_text(tmp_path):
    """Table cells and chart text from data can hold Typst or HTML syntax; the PDF shows it."""
    import pandas as pd

    from analysis.tables import markdown_table

    hostile = ["<script>alert(1)</script>", "#set text(red) $x^2$", "*bold* _it_ @fig-x <lbl>", "a\\b [c] `d`"]
    table = markdown_table(pd.DataFrame({"model": hostile, "score": [1, 2, 3, 4]}))._repr_markdown_()
    body = convert.to_typst(table + "\n\n: Hostile names.\n", "test", [], with_bibliography=False)
    main = pdf.write_main(tmp_path, book={"title": "T", "subtitle": "", "author": ["A"], "date": "", "lang": "en"},
                          chapters=[{"rel": "x.qmd", "body": "= Chapter\n" + body, "starts_appendices": False}],
                          env=pdf.environment())
    pdf.compile_pdf(main, tmp_path / "t.pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(tmp_path / "t.pdf").pages)
    for name in hostile:
        assert name in text


def test_chart_pdf_embeds_identically_whatever_vl_convert_writes(tmp_path):
    """vl-convert's PDF bytes vary between calls; the book's PDF must not (SOURCE_DATE_EPOCH builds)."""
    import altair as alt
    import pandas as pd
    import typst

    from analysis.charts.renderer import chart_svg

    chart = alt.Chart(pd.DataFrame({"compute": [1e18, 1e20, 1e22], "loss": [3.1, 2.6, 2.2]})).mark_line().encode(
        x=alt.X("compute:Q", scale=alt.Scale(type="log"), title="Training compute (FLOP)"), y="loss:Q")
    svg = chart_svg(chart.to_dict())
    outputs = set()
    for _ in range(4):
        (tmp_path / "chart.pdf").write_bytes(pdf.chart_pdf(svg))
        (tmp_path / "main.typ").write_text('#image("chart.pdf", width: 10cm)\n', encoding="utf-8")
        outputs.add(typst.compile(str(tmp_path / "main.typ"), root=str(tmp_path), ignore_system_fonts=True,
                                  timestamp=1700000000))
    assert len(outputs) == 1
    reader = PdfReader(io.BytesIO(outputs.pop()))
    assert "Training compute (FLOP)" in reader.pages[0].extract_text()
    cache = tmp_path / "cache"
    assert pdf.chart_pdf(svg, cache) == pdf.chart_pdf(svg, cache) and len(list(cache.iterdir())) == 1


def test_static_chart_variant_uses_the_print_font_and_drops_click_hints():
    import altair as alt
    import pandas as pd

    from analysis.charts import renderer

    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4], "family": ["a", "b"]})).mark_point().encode(
        x=alt.X("x:Q", title="Size (parameters)"), y="y:Q",
        color=alt.Color("family:N", title="Family (click to highlight)"))
    spec = chart.to_dict()
    assert spec["encoding"]["color"]["title"] == "Family (click to highlight)"  # the site keeps the hint
    # What the PDF carries: the chart as vector text in DejaVu Sans (the print font of the charts),
    # with the legend title but not the hint, read back from the PDF itself.
    reader = PdfReader(io.BytesIO(pdf.chart_pdf(renderer.chart_svg(spec))))
    page = reader.pages[0]
    fonts = {str(font.get_object()["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}
    assert fonts and all("DejaVuSans" in font for font in fonts), fonts
    text = page.extract_text()
    assert "Family" in text and "Size (parameters)" in text
    assert "click" not in text
