"""The book's own chapters (1-3), preface and appendices: computed statements match the fits, and
no number in the prose is typed by hand where it should come from a fit."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import linregress
from scipy.stats import t as student_t

from analysis.chapters.appendices import build_date
from analysis.chapters.common import source_text
from analysis.chapters.compression import compression_chapter
from analysis.chapters.preface import key_findings
from analysis.chapters.pretraining import pretraining_chapter
from analysis.fit import EfficiencyTrend
from analysis.text import LEVEL

ROOT = Path(__file__).resolve().parent.parent
OWN_SOURCES = [
    "index.qmd",
    "chapters/01-pretraining-efficiency.qmd",
    "chapters/02-compression.qmd",
    "chapters/03-benchmarks-vs-parameters.qmd",
    "chapters/06-kaplan-vs-chinchilla.qmd",
    "appendices/methods.qmd",
    "appendices/data.qmd",
    "appendices/reproducibility.qmd",
]

# Numbers allowed in prose, each a named constant of a source or of the method, never a fit result.
ALLOWED_PHRASES = {
    r"\b8 (GLUE )?tasks": "the compression figure averages 8 GLUE tasks (its title)",
    r"\b1 or 2 bits|\b1- (and|or) 2-bit": "weight widths of the quantized models (their labels)",
    r"\b(1|2|32)-bit|\b32 bits": "weight widths named in the figure's labels and the fp32 reference",
    r"\b4 bytes": "a 32-bit float is 4 bytes (definition)",
    r"\b6-layer|\b12 layers|L=\d+": "layer counts named in the figure's labels",
    r"\b95%": "the book's fixed interval level (analysis.text.LEVEL, checked below)",
    r"\b(19|20)\d\d\b": "years (citations and publication dates)",
    r"\b[Cc]hapters?\s+\d(\s+(to|and)\s+\d)?": "chapter numbers",
    r"\bFigure \d+\b|\bTable \d+\b": "figure/table numbers of the source papers",
    r"\[\d{4}\.\d{4,5}(v\d+)?\]\(https://arxiv\.org/abs/\d{4}\.\d{4,5}(v\d+)?\)": "arXiv identifiers of the source papers",
    r"\bTable A\d\b|\bAppendix [A-Z](\.\d)?|\bSection \d(\.\d)?": "appendix tables and sections of the source papers",
    r"\b10th to 90th\b": "the percentiles of Hoffmann et al.'s Table 2 intervals (their definition)",
    r"\bseed 0\d\d": "seed file numbers",
    r"\bMemory[³3]-2B(-SFT)?|\bLlama3-8B(-it)?|\bX-B\b|X-billion|\b(GPT|Phi|Falcon|Gemma)-\d+B?(-it)?"
    r"|MiniLMv2|Llama \d|Qwen1\.5": "model names",
    r"\bApproach(es)?\s\d(\sand\s\d)?": "names of the three approaches of Hoffmann et al. (2022)",
    r"\bSHA-256": "the name of the hash function",
    r"C = 6ND|\b6ND": "the standard training-compute approximation",
    r"above 1×": "the ratio at which a model is exactly compute-optimal (definition)",
    r"\b[Ss]teps?[ -]\d\b": "the numbers of Porian et al.'s five settings (the paper's order)",
    r"\bOpenWebText2\b": "a dataset's name",
    r"δ = 10⁻³": "the Huber delta of the published fitting procedure (a setting, not a result)",
}
CAPTION_OPTION = re.compile(r"^#\|\s*(fig-cap|tbl-cap|fig-alt):\s*(?P<text>.+)$", re.M)


def prose(text: str) -> str:
    """The prose of a .qmd: without front matter, code cells, inline code, math, citations, labels."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", "", text, flags=re.S)
    text = re.sub(r"\[?@[\w:-]+\]?", "", text)
    text = re.sub(r"\{#[\w-]+[^}]*\}", "", text)
    return text


def stray_numbers(text: str) -> list[str]:
    for pattern in ALLOWED_PHRASES:
        text = re.sub(pattern, "", text)
    return re.findall(r"\d+(?:[.,]\d+)?", text)


@pytest.mark.parametrize("source", OWN_SOURCES)
def test_no_hand_typed_numbers_in_prose(source: str) -> None:
    text = (ROOT / source).read_text(encoding="utf-8")
    assert stray_numbers(prose(text)) == [], f"{source}: numbers in prose must come from inline code"


@pytest.mark.parametrize("source", OWN_SOURCES + ["chapters/04-compute-optimal.qmd", "chapters/05-parametric-loss.qmd"])
def test_no_hand_typed_numbers_in_captions(source: str) -> None:
    text = (ROOT / source).read_text(encoding="utf-8")
    captions = [match["text"] for match in CAPTION_OPTION.finditer(text)]
    stray = {caption[:60]: found for caption in captions if (found := stray_numbers(prose(caption)))}
    assert stray == {}, f"{source}: numbers in captions must be constants of a source or of the method"


def test_the_checker_catches_a_typed_number() -> None:
    assert stray_numbers(prose("The slope is 4.2 points per decade (`{python} x`).")) == ["4.2"]
    assert stray_numbers(prose("Averaged over 8 GLUE tasks in 2022 [@wu2022xtc].")) == []


def test_interval_level_is_the_one_named_in_prose() -> None:
    assert LEVEL == 0.95


def test_efficiency_slopes_match_the_frisch_waugh_lovell_route() -> None:
    # An independent route to the same coefficients: partial out log-compute from GLUE and from the
    # date with scipy's one-variable regression, then regress residual on residual.
    ch1 = pretraining_chapter()
    p = ch1.points
    log_c, glue = np.log10(p["gflops"].to_numpy()), p["glue"].to_numpy()
    years = p["release_date"].dt.year + (p["release_date"].dt.month - 0.5) / 12
    glue_left = glue - np.polyval(np.polyfit(log_c, glue, 1), log_c)
    year_left = years.to_numpy() - np.polyval(np.polyfit(log_c, years, 1), log_c)
    assert ch1.efficiency.params["year_slope"] == pytest.approx(linregress(year_left, glue_left).slope, rel=1e-9)
    compute_left = log_c - np.polyval(np.polyfit(years, log_c, 1), years)
    glue_given_year = glue - np.polyval(np.polyfit(years, glue, 1), years)
    assert ch1.efficiency.params["compute_slope"] == pytest.approx(
        linregress(compute_left, glue_given_year).slope, rel=1e-9)


def test_efficiency_intervals_cover_a_known_rate_as_often_as_the_textbook_interval() -> None:
    # Noisy data from a known law: the bootstrap interval of the yearly gain is close to the classical
    # t interval of OLS (scipy's t quantile and the residual variance), and covers the true rate.
    rng = np.random.default_rng(1)
    n = 60
    gflops, years = 10 ** rng.uniform(0, 2, n), rng.uniform(2018, 2021, n)
    score = 70 + 5 * np.log10(gflops) + 2 * (years - years.mean()) + rng.normal(0, 1.0, n)
    result = EfficiencyTrend(n_bootstrap=1000, seed=0).fit(gflops, years, score)
    design = np.column_stack([np.ones(n), np.log10(gflops), years - years.mean()])
    residual = score - design @ np.linalg.lstsq(design, score, rcond=None)[0]
    se = np.sqrt(residual @ residual / (n - 3) * np.linalg.inv(design.T @ design)[2, 2])
    half_width = student_t.ppf(0.975, n - 3) * se
    low, high = result.ci["year_slope"]
    assert low < 2 < high
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.25)
    assert result.to_dict()["params"]["year_slope"] == pytest.approx(result.params["year_slope"])
    assert "year_slope" in result.summary()


def _numbers(text: str) -> list[float]:
    text = text.replace("95% bootstrap interval", "")
    return [float(v.replace("−", "-")) for v in re.findall(r"−?\d+(?:\.\d+)?", text)]


def test_statements_print_the_fit_to_their_precision() -> None:
    # The sentence, read back as numbers, gives the estimate and its interval to the digits printed.
    ch1 = pretraining_chapter()
    value, low, high = _numbers(ch1.efficiency_statement)
    for printed, exact in zip((value, low, high), (ch1.efficiency.params["year_slope"], *ch1.efficiency.ci["year_slope"])):
        assert abs(printed - exact) <= 0.05 * max(abs(exact), 1e-9) + 0.05
    assert low < value < high
    assert re.fullmatch(r"\S+ GLUE points per year \(95% bootstrap interval \S+(–| to )\S+\)", ch1.efficiency_statement)


def test_compression_reference_is_bert_base_at_440_mb() -> None:
    # BERT-Base has 110M parameters (Devlin et al. 2019): 440 MB as 32-bit floats.
    ch2 = compression_chapter()
    assert ch2.baseline_size_mb == pytest.approx(440, rel=0.01)
    assert (ch2.points["compression_ratio"] > 1).all()
    frontier = ch2.frontier
    for _, row in ch2.points.iterrows():  # brute force: frontier points are undominated, others dominated
        dominated = ((ch2.points["size_mb"] <= row["size_mb"]) & (ch2.points["glue"] >= row["glue"])
                     & ((ch2.points["size_mb"] < row["size_mb"]) | (ch2.points["glue"] > row["glue"]))).any()
        assert dominated != (row.name in frontier.index)


def test_key_findings_cover_every_chapter() -> None:
    findings = key_findings()
    assert findings["chapter"].tolist() == ["1", "2", "3", "4", "5", "6"]
    assert pretraining_chapter().efficiency_statement in findings.iloc[0]["finding"]


def test_author_year_and_build_date(monkeypatch: pytest.MonkeyPatch) -> None:
    assert source_text("wu2022xtc", "") == "Wu et al. 2022"
    assert source_text("not-a-key", "Table 1") == "not-a-key, Table 1"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert build_date() == "2023-11-14"


# -- the built book as a reader reads it -----------------------------------------------------------

PROCESS_STATEMENTS = re.compile(r"could not be (consulted|opened|read)|not (yet )?checked against|was not set", re.I)
"""How the book was made is not what it says: sources and approximations live in the data's provenance columns."""
WEB_ONLY = re.compile(r"\b(hover|tooltips?)\b", re.I)
"""Words that ask a PDF reader to do what only the site allows."""
RATIO_IN_WORDS = re.compile(r"\d(\.\d+)? times (larger|smaller|fewer|more|its|the)\b")
"""Ratios are written ``6.2×`` (:func:`analysis.text.times`), never ``6.2 times``."""
UNGROUPED = re.compile(r"(?<![\w.,×^⁰-⁹/–-])(?!(?:19|20)\d\d\b)\d{4,}(?![\w.,])")
"""A count of 1,000 or more without a thousands separator (years excepted)."""
INTERVAL_WORDING = re.compile(r"\b95% (CI|interval) [−\d]")
"""An interval is named one way: ``95% bootstrap interval 48B–104B`` (:func:`analysis.text.bootstrap_interval`)."""


def paragraphs(page: str) -> str:
    """The running text of a site page: its ``<p>`` elements, without code, math or scripts."""
    body = re.sub(r"<(script|style|svg|math|pre|code|table)\b.*?</\1>", " ", page, flags=re.S | re.I)
    found = re.findall(r"<p\b[^>]*>(.*?)</p>", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", " ".join(found)))


def test_the_checkers_catch_what_they_are_for() -> None:
    assert PROCESS_STATEMENTS.search("XTC's own tables could not be consulted for this book")
    assert WEB_ONLY.search("Each line's tooltip says how it was obtained")
    assert RATIO_IN_WORDS.search("which is 6.2 times larger")
    assert UNGROUPED.findall("1304 rows in 2024, 1,160 runs, 5.04 × 10²³, porian2024, 1024×") == ["1304", "1024"]
    assert INTERVAL_WORDING.search("68B (95% CI 48B to 104B)") and INTERVAL_WORDING.search("(95% interval 51B–112B)")
    assert not INTERVAL_WORDING.search("(95% bootstrap interval 48B–104B); the slope's 95% interval, −7.3 to 14.3")


def test_running_text_states_sources_not_process_and_groups_thousands(real_book) -> None:
    found: dict[str, list[str]] = {}
    for page in sorted(real_book.output.rglob("*.html")):
        text = paragraphs(page.read_text(encoding="utf-8"))
        patterns = (PROCESS_STATEMENTS, RATIO_IN_WORDS, UNGROUPED, INTERVAL_WORDING)
        hits = [m.group(0) for pattern in patterns for m in pattern.finditer(text)]
        if hits:
            found[page.relative_to(real_book.output).as_posix()] = hits[:5]
    assert found == {}


def test_the_pdf_never_asks_the_reader_to_hover(real_book) -> None:
    if shutil.which("pdftotext") is None:
        from conftest import unavailable

        unavailable("pdftotext (poppler-utils) not installed")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(real_book.pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert WEB_ONLY.findall(text) == []
    assert PROCESS_STATEMENTS.findall(text) == []


def test_every_approximate_row_is_listed_with_its_reason() -> None:
    from analysis.chapters.appendices import approximate_rows, data_tables
    from analysis.chapters.common import value_kind_text

    rows = approximate_rows()
    assert len(rows) == sum(t.n_approximate for t in data_tables())
    assert (rows.loc[rows["read_off"], "reason"] == "read off a figure").all()
    electra = rows[(rows["table"] == "glue_pretraining.csv") & (rows["row"] == "electra-large")].iloc[0]
    assert not electra["read_off"] and electra["reason"] == "inference GFLOPs taken from BERT-Large"
    assert value_kind_text("approximate", electra["source_detail"]) == "approximate (inference GFLOPs taken from BERT-Large)"


def test_dev_set_scores_are_the_rows_whose_note_says_so() -> None:
    from analysis.chapters.pretraining import DEV_SET_SCORES

    ch1 = pretraining_chapter()
    notes = ch1.points.set_index("model_id")["note"].fillna("")
    assert all("dev-set" in notes[model] and "test-set column" in notes[model] for model in DEV_SET_SCORES)
    year = ch1.first_year
    kept = ch1.points[(ch1.points["release_date"].dt.year == year) & ~ch1.points["model_id"].isin(DEV_SET_SCORES)]
    assert ch1.mean_residual(year, test_set_only=True) == pytest.approx(kept["residual"].mean())
    assert ch1.worst["name"] in ch1.dev_set_statement
