"""The book's own chapters (1-3), preface and appendices: computed statements match the fits, and
no number in the prose is typed by hand where it should come from a fit."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from analysis import book

ROOT = Path(__file__).resolve().parent.parent
OWN_SOURCES = [
    "index.qmd",
    "chapters/01-pretraining-efficiency.qmd",
    "chapters/02-compression.qmd",
    "chapters/03-benchmarks-vs-parameters.qmd",
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
    r"\b95%": "the book's fixed interval level (book.LEVEL, checked below)",
    r"\b(19|20)\d\d\b": "years (citations and publication dates)",
    r"\b[Cc]hapters?\s+\d(\s+(to|and)\s+\d)?": "chapter numbers",
    r"\bFigure \d\b|\bTable \d\b": "figure/table numbers of the source papers",
    r"\bseed 0\d\d": "seed file numbers",
    r"\bMemory[³3]-2B(-SFT)?|\bLlama3-8B(-it)?|\bX-B\b|X-billion|\b(GPT|Phi|Falcon|Gemma)-\d+B?(-it)?|MiniLMv2|Llama \d|Qwen1\.5": "model names",
    r"\bApproach(es)?\s\d(\sand\s\d)?": "names of the three approaches of Hoffmann et al. (2022)",
    r"\bSHA-256": "the name of the hash function",
    r"C = 6ND|\b6ND": "the standard training-compute approximation",
    r"above 1×": "the ratio at which a model is exactly compute-optimal (definition)",
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
    assert book.LEVEL == 0.95


def test_efficiency_estimator_matches_normal_equations() -> None:
    ch1 = book.pretraining_analysis()
    p = ch1.points
    years = book.decimal_year(p["release_date"])
    design = np.column_stack([np.ones(len(p)), np.log10(p["gflops"]), years - ch1.efficiency.reference_year])
    coef = np.linalg.solve(design.T @ design, design.T @ p["glue"].to_numpy())
    params = ch1.efficiency.params
    assert np.allclose([params["intercept"], params["compute_slope"], params["year_slope"]], coef)
    assert params["compute_factor_per_year"] == pytest.approx(10 ** (coef[2] / coef[1]))
    for name in ("compute_slope", "year_slope", "compute_factor_per_year"):
        low, high = ch1.efficiency.ci[name]
        assert low < params[name] < high


def test_efficiency_estimator_recovers_a_known_rate() -> None:
    rng = np.random.default_rng(1)
    gflops = 10 ** rng.uniform(0, 2, 40)
    years = rng.uniform(2018, 2021, 40)
    score = 70 + 5 * np.log10(gflops) + 2 * (years - years.mean())
    result = book.EfficiencyTrend(n_bootstrap=200).fit(gflops, years, score)
    assert result.params["year_slope"] == pytest.approx(2)
    assert result.params["compute_factor_per_year"] == pytest.approx(10 ** (2 / 5))
    assert result.ci["year_slope"][0] == pytest.approx(2) and result.ci["year_slope"][1] == pytest.approx(2)


def test_statements_quote_the_fit_results() -> None:
    ch1 = book.pretraining_analysis()
    eff = ch1.efficiency
    text = book.efficiency_statement(eff)
    low, high = eff.ci["year_slope"]
    assert text == f"{book.number(eff.params['year_slope'])} GLUE points per year (95% CI {book.number(low)} to {book.number(high)})"
    slope_text = book.slope_statement(ch1.trend, "GLUE points")
    assert slope_text.startswith(book.number(ch1.trend.slope))
    assert book.slope_excludes_zero(ch1.trend) == (ch1.trend.ci["slope"][0] > 0 or ch1.trend.ci["slope"][1] < 0)


def test_compression_ratios_use_bert_base_in_fp32() -> None:
    ch2 = book.compression_analysis()
    assert ch2.baseline_size_mb == pytest.approx(ch2.baseline_parameters * 4 / 1e6)
    assert np.allclose(ch2.points["compression_ratio"] * ch2.points["size_mb"], ch2.baseline_size_mb)
    frontier = ch2.points[ch2.points["on_frontier"]]
    for _, row in ch2.points.iterrows():  # frontier points are undominated, others dominated
        dominated = ((ch2.points["size_mb"] <= row["size_mb"]) & (ch2.points["glue"] >= row["glue"])
                     & ((ch2.points["size_mb"] < row["size_mb"]) | (ch2.points["glue"] > row["glue"]))).any()
        assert dominated != (row.name in frontier.index)


def test_key_findings_cover_every_chapter() -> None:
    findings = book.key_findings()
    assert findings["chapter"].tolist() == ["1", "2", "3", "4", "5"]
    ch1 = book.pretraining_analysis()
    assert book.efficiency_statement(ch1.efficiency) in findings.iloc[0]["finding"]


def test_author_year_and_build_date(monkeypatch: pytest.MonkeyPatch) -> None:
    assert book.author_year("wu2022xtc").endswith("2022")
    assert book.author_year("not-a-key") == "not-a-key"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert book.build_date() == "2023-11-14"
