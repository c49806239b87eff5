"""``atlas report`` end to end: generate and render reports, then check what a reader sees.

Four datasets: a synthetic family drawn from a known law, the Epoch runs (mirror), runs at a
single FLOP budget and a 10-row table. Each report is rendered once per session (small
bootstrap) and shared by the tests of this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from datasets import TRUE_LAW, epoch_runs_path, isoflop_family, law_loss, pure_noise_runs, true_n_opt, write_csv

from analysis.cli import main
from analysis.data import load_table
from bookengine.build import build
from bookengine.lint import lint_project

pytestmark = pytest.mark.slow
T = TypeVar("T")
BOOTSTRAP = "60"
FEW_RESAMPLES = "12"
"""For the reports on data the fits cannot fully use: what they test is the text that says so, and
their refits are the slow ones (most never converge and are retried from every start)."""
SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


# -- reading the rendered pages ----------------------------------------------------------------


class _Tables(HTMLParser):
    """Rows of every table inside an element with an ``id`` (the cross-reference label)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._label: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        label = dict(attrs).get("id")
        if label and label.startswith("tbl-"):
            self._label = label
            self.tables[label] = []
        elif tag == "tr" and self._label:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._label:
            self.tables[self._label].append(self._row)
            self._row = None
        elif tag == "table":
            self._label = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_table(site: Path, page: str, label: str) -> list[dict[str, str]]:
    """The table ``label`` of a rendered page as a list of {header: cell} rows."""
    parser = _Tables()
    parser.feed((site / page).read_text(encoding="utf-8"))
    header, *rows = parser.tables[label]
    return [dict(zip(header, row, strict=True)) for row in rows]


def page_text(site: Path, page: str) -> str:
    """Visible text of a page with tags removed and whitespace collapsed."""
    html = (site / page).read_text(encoding="utf-8")
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


COUNT_SUFFIXES = {"k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def value(cell: str) -> float:
    """A number as the report prints it (``3.32 × 10⁷``, ``33.2M``, ``10²¹``) back to a float."""
    if cell[-1:] in COUNT_SUFFIXES:
        return float(cell[:-1]) * COUNT_SUFFIXES[cell[-1]]
    if cell.startswith("10") and cell[2:] and not cell[2:].isascii():
        return 10.0 ** int(cell[2:].translate(SUPERSCRIPTS))
    if "\u00a0×\u00a010" in cell:  # no-break spaces inside the number
        mantissa, power = cell.split("\u00a0×\u00a010")
        return float(mantissa) * 10.0 ** int(power.translate(SUPERSCRIPTS))
    return float(cell)


def bounds(cell: str) -> tuple[float, float]:
    """An interval cell ``lo – hi`` as two floats."""
    low, high = cell.split(" – ")
    return value(low), value(high)


def by_parameter(site: Path) -> dict[str, dict[str, str]]:
    return {row["Parameter"].split(" ")[0]: row for row in page_table(site, "parametric.html", "tbl-parameters")}


# -- the reports -------------------------------------------------------------------------------


def in_worker_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` in a fresh thread: the engine runs its own asyncio loop, which cannot
    start in a thread where Playwright's sync API (the session's browser) already runs one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def render(csv: Path, out: Path, *options: str, pdf: bool = False, bootstrap: str = BOOTSTRAP) -> Path:
    """Generate the report (through the command line) and render it; return the site folder."""
    assert main(["report", str(csv), "--out", str(out), "--bootstrap", bootstrap, "--no-render", *options]) == 0
    assert lint_project(out) == []
    return in_worker_thread(build, out, pdf_output=pdf).output


@pytest.fixture(scope="module")
def synthetic_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic")
    csv = write_csv(isoflop_family(), folder / "family.csv")
    out = folder / "report"
    # The one report rendered through `atlas report` itself, PDF included.
    assert in_worker_thread(main, ["report", str(csv), "--out", str(out), "--bootstrap", BOOTSTRAP,
                                   "--title", "A synthetic family", "--n-col", "params", "--c-col", "flops",
                                   "--loss-col", "final_loss"]) == 0
    return out / "_book"


@pytest.fixture(scope="module")
def epoch_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    csv = epoch_runs_path()
    return render(csv, tmp_path_factory.mktemp("epoch") / "report", "--n-col", "Model Size",
                  "--c-col", "Training FLOP", "--exclude-top-loss", "5")


# -- synthetic family: the report recovers the law it was drawn from ----------------------------


def test_synthetic_report_recovers_the_true_law(synthetic_site: Path) -> None:
    rows = by_parameter(synthetic_site)
    truth = dict(TRUE_LAW) | {"a": TRUE_LAW["beta"] / (TRUE_LAW["alpha"] + TRUE_LAW["beta"])}
    for symbol, key in (("α", "alpha"), ("β", "beta"), ("E", "E"), ("a", "a")):
        low, high = bounds(rows[symbol]["95% interval"])
        assert low <= truth[key] <= high, (symbol, rows[symbol], truth[key])
        assert abs(value(rows[symbol]["Estimate"]) - truth[key]) < 0.1 * truth[key]


def test_synthetic_allocation_marks_extrapolation(synthetic_site: Path) -> None:
    rows = page_table(synthetic_site, "allocation.html", "tbl-allocation")
    budgets = [value(row["Budget C (FLOP)"]) for row in rows]
    # The family spans 1e18 to 1e21 FLOP: decades from the smallest run to two past the largest.
    assert budgets == pytest.approx([1e18, 1e19, 1e20, 1e21, 1e22, 1e23])
    assert [row["Range"] for row in rows] == ["within the data"] * 4 + ["extrapolated, beyond the runs"] * 2
    for row, budget in zip(rows, budgets, strict=True):
        assert value(row["N_opt (parameters)"]) == pytest.approx(true_n_opt(budget)[0], rel=0.25)
        low, high = bounds(row["N_opt, 95% interval"])
        assert low <= value(row["N_opt (parameters)"]) <= high
        n_opt, d_opt = value(row["N_opt (parameters)"]), value(row["D_opt (tokens)"])
        assert 6 * n_opt * d_opt == pytest.approx(budget, rel=0.01)
        assert value(row["Loss (nats/token)"]) == pytest.approx(law_loss(TRUE_LAW, n_opt, d_opt), rel=0.02)


def test_synthetic_report_has_all_three_approaches(synthetic_site: Path) -> None:
    rows = {row["Approach"]: row for row in page_table(synthetic_site, "allocation.html", "tbl-exponents")}
    truth = TRUE_LAW["beta"] / (TRUE_LAW["alpha"] + TRUE_LAW["beta"])
    assert len(rows) == 3 and all(row["Note"] == "" for row in rows.values())
    isoflop = rows["IsoFLOP profiles (Approach 2)"]
    assert bounds(isoflop["a, 95% interval"])[0] <= truth <= bounds(isoflop["a, 95% interval"])[1]
    budgets = page_table(synthetic_site, "data.html", "tbl-budgets")
    assert [value(row["Budget C (FLOP)"]) for row in budgets] == pytest.approx([1e18, 1e19, 1e20, 1e21])


def test_published_laws_come_from_the_data_table(synthetic_site: Path) -> None:
    table = load_table("scaling_laws")
    rows = page_table(synthetic_site, "published.html", "tbl-published")
    assert rows[0]["Law"] == "This report"
    published = {row["Law"]: row for row in rows[1:]}
    for law_id in ("hoffmann2022_approach3", "besiroglu2024"):
        law = table[table["law_id"] == law_id].set_index("coefficient")["value"]
        description = table.loc[table["law_id"] == law_id, "approach"].iloc[0].split(":")[0]
        author, year, method = re.fullmatch(r"(.*) \((\d{4})\) (.*)", description).groups()
        row = published[f"{method[0].upper()}{method[1:]} ({author} {year})"]  # the citation as pandoc renders it
        assert value(row["α"].split(" ± ")[0]) == pytest.approx(law["alpha"], rel=5e-3)
        assert value(row["E"].split(" ± ")[0]) == pytest.approx(law["E"], rel=5e-3)
    # This fit describes its own runs better than laws fitted to other data.
    rms = [value(row["RMS residual"]) for row in rows]
    assert rms[0] == min(rms)
    # Sources are citations, not BibTeX keys, and the table is narrow enough for the column.
    assert len(rows[0]) <= 8 and "besiroglu2024replication" not in page_text(synthetic_site, "published.html")


def test_the_rendered_report_is_readable_by_others(synthetic_site: Path) -> None:
    """Folders and files follow the umask (a web server running as another user can read them)."""
    import os
    import stat

    umask = os.umask(0)
    os.umask(umask)
    for path in [synthetic_site.parent, synthetic_site, *synthetic_site.rglob("*")]:
        expected = (0o777 if path.is_dir() else 0o666) & ~umask
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_synthetic_pdf_has_every_chapter(synthetic_site: Path) -> None:
    from pypdf import PdfReader

    (pdf,) = synthetic_site.glob("*.pdf")
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    for title in ("The runs", "The parametric fit", "Compute-optimal allocation", "Published laws", "References"):
        assert title in text
    assert "extrapolated" in text and "Besiroglu" in text


def test_synthetic_report_code_is_folded_on_the_site_and_absent_from_the_pdf(synthetic_site: Path) -> None:
    from pypdf import PdfReader

    page = (synthetic_site / "parametric.html").read_text(encoding="utf-8")
    assert page.count('<details class="code-fold"') >= 3 and "<details class=\"code-fold\" open" not in page
    assert "load_report()" in page
    (pdf,) = synthetic_site.glob("*.pdf")
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "load_report" not in text and "report.parameter_table" not in text


@pytest.mark.browser
def test_synthetic_site_passes_the_book_browser_checks(synthetic_site: Path, browser) -> None:
    from browser import broken_internal_links, check_pages, hover_until_tooltip, open_page, served

    assert broken_internal_links(synthetic_site) == []
    with served(synthetic_site) as base:
        marks = check_pages(browser, synthetic_site, base)  # no console error, no other host, charts draw
        assert {page: len(counts) for page, counts in marks.items() if counts} == {
            "parametric.html": 2, "allocation.html": 1, "published.html": 1}
        page, log = open_page(browser, base)
        page.goto(base + "allocation.html")
        tooltip = hover_until_tooltip(page)
        assert "IsoFLOP" in tooltip and re.search(r"\d", tooltip), tooltip
        # search finds a word that only the allocation chapter uses
        page.goto(base + "index.html")
        page.fill("#search-input", "dashed")
        results = page.locator("#search-results a")
        results.first.wait_for(timeout=5000)
        hrefs = {href.split("#")[0] for href in results.evaluate_all("links => links.map(a => a.href)")}
        assert hrefs == {base + "allocation.html"}
        log.close()
        assert log.errors == [] and log.foreign == []


# -- the Epoch runs: the report reproduces the published replication ---------------------------


def test_epoch_report_reproduces_the_replication(epoch_site: Path) -> None:
    table = load_table("scaling_laws")
    published = table[table["law_id"] == "besiroglu2024"].set_index("coefficient")["value"]
    rows = by_parameter(epoch_site)
    assert value(rows["α"]["Estimate"]) == pytest.approx(published["alpha"], rel=0.01)
    assert value(rows["β"]["Estimate"]) == pytest.approx(published["beta"], rel=0.01)
    assert value(rows["E"]["Estimate"]) == pytest.approx(published["E"], rel=0.01)
    assert value(rows["A"]["Estimate"]) == pytest.approx(published["A"], rel=0.05)
    assert value(rows["B"]["Estimate"]) == pytest.approx(published["B"], rel=0.05)
    text = page_text(epoch_site, "parametric.html")
    assert "Fitted to 240 runs" in text and "The 5 highest-loss runs are left out" in text
    assert "245 training runs" in page_text(epoch_site, "data.html")


# -- data the fits cannot fully use ------------------------------------------------------------


def test_single_budget_report_explains_the_missing_isoflop_fit(tmp_path: Path) -> None:
    frame = isoflop_family(budgets=(3e19,), sizes_per_budget=12)
    site = render(write_csv(frame, tmp_path / "one_budget.csv"), tmp_path / "report",
                  "--n-col", "params", "--c-col", "flops", "--loss-col", "final_loss", bootstrap=FEW_RESAMPLES)
    text = page_text(site, "allocation.html")
    assert ("The IsoFLOP and lower-envelope fits are absent: IsoFLOP and envelope fits need runs at two or more "
            "FLOP budgets") in text
    assert "Single budget:" in page_text(site, "parametric.html")
    assert "a single FLOP budget" in text
    rows = {row["Approach"]: row for row in page_table(site, "allocation.html", "tbl-exponents")}
    assert rows["IsoFLOP profiles (Approach 2)"]["a"] == "–"
    assert rows["IsoFLOP profiles (Approach 2)"]["Note"].startswith("declined:")
    assert "IsoFLOP profiles are therefore absent" in page_text(site, "data.html")
    (budget,) = page_table(site, "data.html", "tbl-budgets")
    assert value(budget["Budget C (FLOP)"]) == pytest.approx(3e19) and budget["Runs"] == "12"
    # The fit stopped before judging single budgets: the row says so, the sentence gives the reason once.
    assert budget["Used"] == "not assessed: the IsoFLOP fit was declined (see above)"
    assert page_text(site, "data.html").count("need runs at two or more FLOP budgets") == 1


def test_ten_row_report_renders_with_wide_intervals_or_reasons(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    N = np.geomspace(2e7, 3e9, 10)
    D = rng.permutation(np.geomspace(5e9, 4e11, 10))
    loss = law_loss(TRUE_LAW, N, D) * np.exp(rng.normal(0, 0.01, 10))
    csv = tmp_path / "ten.csv"
    csv.write_text("N,D,loss\n" + "".join(f"{n},{d},{value}\n" for n, d, value in zip(N, D, loss, strict=True)))
    site = render(csv, tmp_path / "report", bootstrap=FEW_RESAMPLES)
    rows = by_parameter(site)
    text = page_text(site, "parametric.html")
    assert "Few runs: 10 runs barely constrain five parameters" in text
    for symbol in ("E", "A", "B", "α", "β"):
        cell = rows[symbol]["95% interval"]
        if cell != "–":
            low, high = bounds(cell)
            assert low <= value(rows[symbol]["Estimate"]) <= high
    # No budgets in scattered runs: the IsoFLOP and envelope rows say why instead of a number.
    exponents = {row["Approach"]: row for row in page_table(site, "allocation.html", "tbl-exponents")}
    assert exponents["IsoFLOP profiles (Approach 2)"]["Note"].startswith("declined:")
    assert exponents["Lower envelope (Approach 1 analogue)"]["Note"].startswith("declined:")
    assert "The IsoFLOP and lower-envelope fits are absent: IsoFLOP and envelope fits need" in page_text(site, "allocation.html")


def test_pure_noise_report_renders_and_says_what_it_declined(tmp_path: Path) -> None:
    # No scaling at all: loss is 3 + noise whatever N and D are. With this seed three FLOP
    # budgets are detected by chance, none with enough runs for an IsoFLOP parabola.
    csv = write_csv(pure_noise_runs(seed=1)[["N", "D", "loss"]], tmp_path / "noise.csv")
    site = render(csv, tmp_path / "report", bootstrap=FEW_RESAMPLES)
    rows = {row["Approach"]: row for row in page_table(site, "allocation.html", "tbl-exponents")}
    isoflop = rows["IsoFLOP profiles (Approach 2)"]
    assert isoflop["a"] == "–" and re.fullmatch(r"declined: \S.{10,}", isoflop["Note"]), isoflop
    allocation = page_text(site, "allocation.html")
    assert "The IsoFLOP fit is absent: " in allocation or "The IsoFLOP and lower-envelope fits are absent: " in allocation
    assert "IsoFLOP profiles" in page_text(site, "data.html") and "absent" in page_text(site, "data.html")
    for name, row in rows.items():  # every approach gives numbers or says why not
        assert (row["Note"] == "" and row["a"] != "–") or row["Note"].startswith("declined: "), (name, row)
    parametric = page_text(site, "parametric.html")
    if rows["Parametric loss (Approach 3)"]["Note"]:
        reason = rows["Parametric loss (Approach 3)"]["Note"].removeprefix("declined: ")
        assert f"The parametric fit was declined: {reason}" in parametric
        assert "No allocation table: the parametric fit was declined" in allocation
