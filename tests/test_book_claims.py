"""Each qualitative claim the prose of chapters 1-3 makes in words, recomputed from the data.

The numbers in those chapters are inline expressions, so they follow the data; the words around
them ("newer", "weakly", "does not beat every method", "almost nothing") do not. Each test below
recomputes one such claim, where possible by an independent route (scipy, the CSV read directly),
and fails when the data no longer support it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import linregress, pearsonr

from analysis.chapters.benchmarks import FEATURED_MODEL, SEVEN_BILLION_CLUSTER, benchmarks_chapter
from analysis.chapters.common import N_BOOTSTRAP, SEED, decimal_year
from analysis.chapters.compression import PROPOSED_METHOD, compression_chapter
from analysis.chapters.pretraining import pretraining_chapter
from analysis.data import DATA_DIR, load_table
from analysis.fit import EfficiencyTrend, LogLinearTrend

ROOT = Path(__file__).resolve().parents[1]


def chapter_text(name: str) -> str:
    return next((ROOT / "chapters").glob(f"{name}*.qmd")).read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- chapter 1


@pytest.fixture(scope="module")
def ch1():
    return pretraining_chapter()


def test_ch1_compute_buys_score_only_weakly(ch1) -> None:
    """Heading "Compute buys score, weakly": the classical fit explains little and its slope may be zero."""
    assert "## Compute buys score, weakly" in chapter_text("01")
    fit = linregress(np.log10(ch1.points["gflops"]), ch1.points["glue"])
    assert fit.slope > 0 and fit.rvalue**2 < 0.3
    assert not ch1.slope_excludes_zero  # the prose then says "The interval includes zero"


def test_ch1_newer_models_score_higher_at_the_same_compute(ch1) -> None:
    """"the newer models reach a higher score for the same compute ... differ by several points"."""
    peers = ch1.peers
    by_year = peers.groupby(peers["release_date"].dt.year)["glue"]
    assert by_year.ngroups >= 2
    assert by_year.min().iloc[-1] > by_year.max().iloc[0]  # every newer peer above every older one
    assert by_year.max().iloc[-1] - by_year.max().iloc[0] >= 3  # "several points"
    assert ch1.efficiency.ci["year_slope"][0] > 0


def test_ch1_frontier_models_are_the_newest(ch1) -> None:
    """"the models on the upper-left edge ... were all released in 2020 or later"."""
    assert ch1.frontier_first_year == ch1.last_year


def test_ch1_residuals_follow_the_date(ch1) -> None:
    """"on average the models of 2020 lie above the trend and those of 2018 below it"."""
    residual = ch1.points["glue"] - np.polyval(np.polyfit(np.log10(ch1.points["gflops"]), ch1.points["glue"], 1),
                                                np.log10(ch1.points["gflops"]))
    year = ch1.points["release_date"].dt.year
    assert residual[year == ch1.last_year].mean() > 0 > residual[year == ch1.first_year].mean()
    assert ch1.mean_residual(ch1.last_year) == pytest.approx(residual[year == ch1.last_year].mean())


def test_ch1_cheap_models_are_new_so_the_compute_slope_steepens(ch1) -> None:
    """"the compute slope is steeper than the date-blind trend, because the cheap models are also the new ones"."""
    assert ch1.efficiency.params["compute_slope"] > ch1.trend.slope
    r, _ = pearsonr(np.log10(ch1.points["gflops"]), decimal_year(ch1.points["release_date"]))
    assert r < 0 and r == pytest.approx(ch1.compute_date_correlation)


def test_ch1_provenance_callout(ch1) -> None:
    """Rows "read off Desislavov et al.'s figure" and the one "whose inference compute is taken from
    the model with the same architecture" are what the data file says."""
    table = pd.read_csv(DATA_DIR / "glue_pretraining.csv")
    approximate = table[table["value_kind"] == "approximate"]
    read_off = approximate[approximate["source_detail"].str.contains("read off the figure")]
    assert set(ch1.read_off_figure["model_id"]) == set(read_off["model_id"])
    borrowed = approximate[~approximate["model_id"].isin(read_off["model_id"])]
    assert set(ch1.borrowed["model_id"]) == set(borrowed["model_id"]) and len(borrowed)
    assert borrowed["note"].str.contains("architecture").all()


def test_ch1_figure_cells_fit_what_the_prose_reports(ch1) -> None:
    """The fits the figure cells show (LogLinearTrend, EfficiencyTrend on the data) are the chapter's."""
    text = chapter_text("01")
    assert "LogLinearTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED).fit(gflops, glue)" in text
    assert "EfficiencyTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED).fit(gflops, years, glue)" in text
    gflops, glue = ch1.points["gflops"], ch1.points["glue"]
    trend = LogLinearTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED).fit(gflops, glue)
    assert trend.params == ch1.trend.params and trend.ci == ch1.trend.ci
    efficiency = EfficiencyTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED).fit(gflops, decimal_year(ch1.points["release_date"]), glue)
    assert efficiency.params == ch1.efficiency.params and efficiency.ci == ch1.efficiency.ci


# ----------------------------------------------------------------------------- chapter 2


@pytest.fixture(scope="module")
def ch2():
    return compression_chapter()


def test_ch2_xtc_does_not_lead_at_every_size(ch2) -> None:
    """"XTC does not beat every method at every size in the figure, though that exception rests on a
    doubtful reading": recomputed from the CSV, size by size."""
    table = pd.read_csv(DATA_DIR / "bert_compression.csv")
    own = table["method"].str.rstrip("*") == PROPOSED_METHOD
    leads = {}
    for size, group in table.groupby("size_mb"):
        if own[group.index].any() and (~own[group.index]).any():
            leads[size] = group.loc[own[group.index], "glue_avg"].max() > group.loc[~own[group.index], "glue_avg"].max()
    assert 0 < sum(leads.values()) < len(leads)  # leads at some sizes, not at all
    assert leads == dict(zip(ch2.size_contests["size_mb"], ch2.size_contests["proposed_leads"], strict=True))
    trailing = [size for size, lead in leads.items() if not lead]
    assert set(trailing) <= set(ch2.doubtful["size_mb"])  # the exception is a doubtful reading
    assert not ch2.frontier["method"].str.rstrip("*").eq(PROPOSED_METHOD).all()  # the frontier is not XTC's alone


def test_ch2_not_every_quantized_model_keeps_every_layer(ch2) -> None:
    """"most quantized models keep all 12 of BERT-Base's layers, but XTC-BERT* L=6 (1-bit) and
    TernaryTinyBERT start from fewer"."""
    quant = ch2.quantized
    keeps_all = quant["layers"] == ch2.full_layers
    assert keeps_all.sum() > len(quant) / 2
    assert len(ch2.fewer_layer_quantized) == len(quant) - keeps_all.sum()
    assert (ch2.fewer_layer_quantized["method"] == "XTC-BERT*").any()
    assert ch2.full_layers == 12  # BERT-Base's layers (Devlin et al. 2019)


def test_ch2_score_hardly_depends_on_the_route(ch2) -> None:
    """"the score hardly depends on the route": the best quantized and best layer-reduced models are
    within a point, and the whole figure spans under two."""
    assert abs(ch2.quantized["glue"].max() - ch2.layer_reduced["glue"].max()) < 1
    assert ch2.score_span < 2
    assert ch2.layer_reduced["size_mb"].nunique() == 1  # "sit together at the right, at about 200 MB"


def test_ch2_score_per_megabyte_restates_size(ch2) -> None:
    r, _ = pearsonr(np.log(ch2.points["glue"] / ch2.points["size_mb"]), np.log(ch2.points["size_mb"]))
    assert r < -0.99 and r == pytest.approx(ch2.per_mb_size_correlation)


def test_ch2_readings_that_disagree_are_noted_in_the_data(ch2) -> None:
    """Each bullet of the callout rests on a note of the data file."""
    table = load_table("bert_compression")
    notes = table.set_index(table["method"] + " " + table["size_mb"].astype(str))["note"]
    assert set(ch2.doubtful["method"]) == {"BinaryBERT (TWN)", "BinaryBERT (BWN)"}
    assert ch2.doubtful["size_mb"].eq(ch2.points["size_mb"].min()).all()
    assert "below 32 MB" in notes["TernaryBERT 32.0"]
    assert "well over" in notes["XTC-BERT 200.0"]
    assert "L=5" in notes["TinyBERT 200.0"] and "4 or 6 layers" in notes["TinyBERT 200.0"]
    assert (table["value_kind"] == "approximate").all()  # "All 12 points were read off the figure"


def test_ch2_figure_rows_are_one_per_model_sorted_by_ratio(ch2) -> None:
    """Figure 2.2's caption: one row per model, from the most to the least compressed."""
    assert ch2.points["tag"].is_unique
    order = ch2.points.sort_values(["compression_ratio", "glue"], ascending=[False, False])
    assert order["compression_ratio"].is_monotonic_decreasing


# ----------------------------------------------------------------------------- chapter 3


@pytest.fixture(scope="module")
def ch3():
    return benchmarks_chapter()


def test_ch3_size_explains_almost_nothing(ch3) -> None:
    """Heading "Size explains almost nothing here"."""
    assert "## Size explains almost nothing here" in chapter_text("03")
    fit = linregress(np.log10(ch3.points["parameters"]), ch3.points["score"])
    assert fit.rvalue**2 < 0.1 and not ch3.slope_excludes_zero


def test_ch3_same_size_spread_exceeds_the_trend(ch3) -> None:
    """"Models of about the same size differ far more than the trend changes over the whole figure"."""
    small = ch3.no_larger_than(FEATURED_MODEL)["score"]
    assert small.max() - small.min() > 3 * ch3.trend_rise_over_range


def test_ch3_what_the_figure_shows_about_memory3(ch3) -> None:
    """Above most larger models, below only a few, above every model of its size, above the trend band."""
    memory = ch3.model(FEATURED_MODEL)
    larger = ch3.points[ch3.points["parameters"] > memory["parameters"]]
    assert (larger["score"] < memory["score"]).sum() > (larger["score"] >= memory["score"]).sum() > 0
    small = ch3.no_larger_than(FEATURED_MODEL)
    assert len(ch3.peers_below(FEATURED_MODEL)) == len(small) - 1  # every other model of its size scores lower
    _fit, _low, high = ch3.trend_at(FEATURED_MODEL)
    assert memory["score"] > high


def test_ch3_misreadings_callout(ch3) -> None:
    """A rise or a plateau is not established; one model above the second largest; the 7B cluster."""
    assert not ch3.slope_excludes_zero
    assert (ch3.points["parameters"] > ch3.second_largest).sum() == 1
    assert len(ch3.models_between(*SEVEN_BILLION_CLUSTER)) >= 3


def test_ch3_provenance_callout(ch3) -> None:
    """Table 16 values; Falcon-40B's non-embedding count above its paper's total; Gemma-2B-it's average."""
    assert ch3.n_exact == len(ch3.points)
    assert ch3.model("falcon-40b")["parameters"] > ch3.published_parameters("falcon-40b")
    assert "average" in ch3.model("gemma-2b-it")["note"]


def test_ch3_figure_cells_fit_what_the_prose_reports(ch3) -> None:
    text = chapter_text("03")
    assert "LogLinearTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED).fit(size, score)" in text
    trend = LogLinearTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED).fit(ch3.points["parameters"], ch3.points["score"])
    assert trend.params == ch3.trend.params and trend.ci == ch3.trend.ci
    # the profile formula the cell shows is the chapter's effective_size_at_slope
    slopes = ch3.profile_slopes(FEATURED_MODEL)
    centre_size, centre_score = np.log10(ch3.points["parameters"]).mean(), ch3.points["score"].mean()
    shown = 10 ** (centre_size + (ch3.model(FEATURED_MODEL)["score"] - centre_score) / slopes)
    np.testing.assert_allclose(shown, ch3.effective_size_at_slope(FEATURED_MODEL, slopes), rtol=1e-12)


@pytest.mark.parametrize("name", ["01", "02", "03"])
def test_chapters_never_mention_descriptions_or_seeds(name: str) -> None:
    """The prose names papers and their figures as sources, never a description of a figure."""
    prose = re.sub(r"`[^`]*`", "", re.sub(r"```.*?```", "", chapter_text(name), flags=re.S))
    assert not re.search(r"\bdescriptions?\b|\bseeds?\b", prose, re.IGNORECASE)


def test_data_appendix_counts_exact_and_approximate_values_per_table() -> None:
    """The data appendix's table of tables: per CSV, rows and how many are exact or approximate,
    counted here from the files themselves."""
    from analysis.chapters.appendices import provenance_table

    table = provenance_table().data.replace("\\", "")  # the Markdown escapes
    for path in sorted(DATA_DIR.glob("*.csv")):
        frame = pd.read_csv(path)
        kinds = frame["value_kind"].value_counts()
        row = next(line for line in table.splitlines() if f"| {path.name} |" in line)
        cells = [cell.strip().replace(",", "") for cell in row.strip("|").split("|")]
        assert cells[2:] == [str(len(frame)), str(kinds.get("exact", 0)), str(kinds.get("approximate", 0))], path.name
