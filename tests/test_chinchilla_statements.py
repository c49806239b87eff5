"""Chapter 4-5 computations (analysis.chapters) against independent computations and published values."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from datasets import require_epoch_runs

from analysis.chapters import compute_optimal as co
from analysis.chapters import epoch
from analysis.chapters import parametric_loss as pl
from analysis.charts.parametric_loss import isoloss_contours
from analysis.fit.laws import ParametricLaw
from analysis.published import published_laws
from analysis.text import format_si

N_BOOTSTRAP = 60  # small: the book uses epoch.BOOK_BOOTSTRAP
ROOT = Path(__file__).resolve().parents[1]

# Hoffmann et al. (2022), Table 1 (published N, D) and Section 3.3 (Approach 3 parameters).
PUBLISHED_SIZES = {
    "chinchilla": (70e9, 1.4e12),
    "gopher": (280e9, 300e9),
    "gpt-3": (175e9, 300e9),
    "mt-nlg-530b": (530e9, 270e9),
}
HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
# Hoffmann et al. (2022), Table 3: compute-optimal size and tokens for a budget (Approach 1).
TABLE3 = [(5.76e23, 67e9, 1.5e12), (3.85e24, 175e9, 3.7e12), (1.27e26, 1e12, 21.2e12)]


def parametric_loss(params: dict[str, float], N, D):
    """``E + A / N**alpha + B / D**beta``, written out here rather than taken from the package."""
    return params["E"] + params["A"] / np.asarray(N, float) ** params["alpha"] + params["B"] / np.asarray(D, float) ** params["beta"]


@pytest.fixture(scope="module")
def fits() -> epoch.EpochFits:
    require_epoch_runs()
    return epoch.epoch_fits(N_BOOTSTRAP, epoch.SEED)


@pytest.fixture(scope="module")
def ch4(fits: epoch.EpochFits) -> co.ComputeOptimalChapter:
    return co.chapter_for(fits)


@pytest.fixture(scope="module")
def ch5(fits: epoch.EpochFits) -> pl.ParametricLossChapter:
    return pl.chapter_for(fits)


def test_model_budgets_are_six_n_d_of_published_sizes() -> None:
    models = epoch.notable_models().set_index("model_id")
    assert set(models.index) == set(PUBLISHED_SIZES)
    for model_id, (n, d) in PUBLISHED_SIZES.items():
        assert models.loc[model_id, "N"] == n and models.loc[model_id, "D"] == d
        assert models.loc[model_id, "C"] == pytest.approx(6 * n * d, rel=1e-12)
    assert models.loc["gopher", "C"] == pytest.approx(5.04e23)
    assert list(models["C"]) == sorted(models["C"])


def test_published_approach3_line_is_g_times_c_over_6_to_the_a() -> None:
    law = co.published_power_laws().set_index("law").loc["Approach 3, Hoffmann et al."]
    a = 0.28 / (0.34 + 0.28)
    G = (0.34 * 406.4 / (0.28 * 410.7)) ** (1 / (0.34 + 0.28))
    for budget in (1e18, 5.04e23, 1e26):
        assert co.n_opt_under(law, budget) == pytest.approx(G * (budget / 6) ** a, rel=1e-9)
    assert published_laws()["hoffmann2022_approach3"].law.params == HOFFMANN


def test_anchored_laws_pass_through_their_anchor_with_published_exponents() -> None:
    laws = co.published_power_laws().set_index("law")
    chinchilla_c = 6 * 70e9 * 1.4e12
    for k, a in ((1, 0.50), (2, 0.49)):
        law = laws.loc[f"Approach {k}, Hoffmann et al."]
        assert law["a"] == a
        assert co.n_opt_under(law, chinchilla_c) == pytest.approx(70e9)
        assert co.n_opt_under(law, 10 * chinchilla_c) == pytest.approx(70e9 * 10**a)
        assert "Chinchilla" in law["note"]
    kaplan = laws.loc["Kaplan et al. (2020)"]
    assert kaplan["a"] == 0.73 and "Gopher" in kaplan["note"]
    assert co.n_opt_under(kaplan, 6 * 280e9 * 300e9) == pytest.approx(280e9)


def test_fitted_laws_reproduce_each_result(fits: epoch.EpochFits) -> None:
    laws = co.fitted_power_laws(fits).set_index("approach")
    budgets = np.array([3e18, 1e21, 5.04e23, 1e26])
    for key, result in fits.results().items():
        law = laws.loc[epoch.APPROACH_LABELS[key]]
        expected = np.asarray(result.n_opt(budgets), dtype=float)
        got = np.array([co.n_opt_under(law, c) for c in budgets])
        np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_published_laws_give_hoffmanns_table_3(ch4: co.ComputeOptimalChapter) -> None:
    # Approach 1 as drawn here (the published exponent, anchored at Chinchilla) against the sizes and
    # tokens Hoffmann et al. list for three budgets in their Table 3: an independent check of the
    # anchoring, the power law and D = C / 6N.
    law = ch4.law(co.PUB1)
    for budget, size, tokens in TABLE3:
        n_opt = co.n_opt_under(law, budget)
        assert n_opt == pytest.approx(size, rel=0.05)
        # the paper counts FLOP more precisely than 6ND (its 67B x 1.5T row is 6.0e23 by 6ND)
        assert budget / (6 * n_opt) == pytest.approx(tokens, rel=0.1)
    # Anchored at Chinchilla, the law asks at Chinchilla's budget for Chinchilla's published 1.4T tokens.
    chinchilla = ch4.optimum("chinchilla", co.PUB1)
    assert chinchilla["N_opt"] == pytest.approx(70e9) and chinchilla["D_opt"] == pytest.approx(1.4e12)
    # The table's rows are the same law at each model's budget.
    gopher = ch4.optimum("gopher", co.PUB1)
    assert gopher["N_opt"] == pytest.approx(co.n_opt_under(law, 6 * 280e9 * 300e9), rel=1e-12)
    assert len(ch4.optima) == 4 * len(ch4.laws)


def test_fitted_optima_by_brute_force_minimisation(ch4: co.ComputeOptimalChapter, fits: epoch.EpochFits) -> None:
    # Our Approach 3 optimum for every model, found by a grid search over sizes on the fitted loss.
    params = fits.parametric.params
    sizes = np.geomspace(1e9, 1e13, 40001)
    ours = ch4.optima[ch4.optima["law"] == co.OURS3].set_index("model_id")
    for model_id, (n, d) in PUBLISHED_SIZES.items():
        budget = 6 * n * d
        best = sizes[np.argmin(parametric_loss(params, sizes, budget / (6 * sizes)))]
        assert ours.loc[model_id, "N_opt"] == pytest.approx(best, rel=1e-3)
        assert ours.loc[model_id, "size_ratio"] == pytest.approx(n / best, rel=1e-3)
        assert ours.loc[model_id, "N_opt_lo"] < ours.loc[model_id, "N_opt"] < ours.loc[model_id, "N_opt_hi"]
    # the chapter's claim: at their budgets the three large models are larger than compute-optimal
    assert (ours.drop("chinchilla")["size_ratio"] > 2).all()


def test_gopher_slice_minimum_by_grid_search(ch5: pl.ParametricLossChapter, fits: epoch.EpochFits) -> None:
    gopher = ch5.gopher_slice
    params = fits.parametric.params
    sizes = np.geomspace(1e9, 1e12, 20001)
    losses = parametric_loss(params, sizes, 5.04e23 / (6 * sizes))
    assert gopher["N_opt"] == pytest.approx(sizes[np.argmin(losses)], rel=1e-3)
    assert gopher["loss_at_N"] == pytest.approx(float(parametric_loss(params, 280e9, 300e9)), rel=1e-12)
    assert gopher["loss_at_opt"] < gopher["loss_at_N"]
    assert gopher["size_ratio"] == pytest.approx(280e9 / gopher["N_opt"])


def test_parameter_comparison_and_exponents_by_hand(ch5: pl.ParametricLossChapter, fits: epoch.EpochFits) -> None:
    table = ch5.comparison
    assert table.loc["a", "hoffmann"] == pytest.approx(0.28 / 0.62)
    assert table.loc["b", "besiroglu"] == pytest.approx(0.3478 / (0.3478 + 0.3658))
    assert table.loc["B", "besiroglu_se"] == pytest.approx(1293.23)
    for name, value in fits.parametric.params.items():
        assert table.loc[name, "ours"] == value
        assert table.loc[name, "ours_lo"] <= value <= table.loc[name, "ours_hi"]


def test_residuals_and_summary_by_hand(ch5: pl.ParametricLossChapter, fits: epoch.EpochFits) -> None:
    frame = ch5.residuals
    runs = fits.runs
    hoffmann = frame[frame["fit"] == "Hoffmann et al. (2022)"]
    by_hand = 1.69 + 406.4 / runs["N"].to_numpy() ** 0.34 + 410.7 / runs["D"].to_numpy() ** 0.28
    np.testing.assert_allclose(hoffmann["predicted"], by_hand, rtol=1e-12)
    used = runs["loss"] < np.sort(runs["loss"])[-epoch.EXCLUDE_TOP_LOSS]
    np.testing.assert_array_equal(fits.used, used.to_numpy())
    summary = ch5.residual_summary
    share = np.mean(runs["loss"].to_numpy()[used] < by_hand[used])
    assert summary.loc["Hoffmann et al. (2022)", "share_overpredicted"] == pytest.approx(share)
    assert summary.loc["Hoffmann et al. (2022)", "n_runs"] == len(runs) - epoch.EXCLUDE_TOP_LOSS
    # the chapter's claim: our fit and the replication fit these runs better than the published one
    assert summary.loc["Fitted here", "huber"] < summary.loc["Hoffmann et al. (2022)", "huber"]
    assert summary.loc["Besiroglu et al. (2024)", "huber"] < summary.loc["Hoffmann et al. (2022)", "huber"]


def test_budgets_assigned_within_tolerance(fits: epoch.EpochFits) -> None:
    runs = fits.runs.dropna(subset=["budget"])
    assert runs["budget"].nunique() >= 2
    assert (np.abs(np.log10(runs["C"] / runs["budget"])) <= epoch.isoflop_tolerance_dex()).all()
    included = fits.isoflop.budgets.query("included")
    assert set(runs["budget"]) <= set(included["C"])
    assert (included["n_runs"] >= epoch.ISOFLOP_MIN_RUNS).all()


def test_isoloss_contours_and_frontier() -> None:
    params = {"E": 1.82, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
    law = ParametricLaw.from_params(params)
    contours = isoloss_contours(law, [2.2, 2.6, 3.0], (1e7, 1e12), (1e17, 1e25))
    assert set(contours["level"]) == {2.2, 2.6, 3.0}
    np.testing.assert_allclose(parametric_loss(params, contours["N"], contours["D"]), contours["level"], rtol=1e-9)
    np.testing.assert_allclose(contours["C"], 6 * contours["N"] * contours["D"], rtol=1e-12)
    sizes = np.geomspace(1e8, 1e12, 40001)
    for budget in (1e20, 1e23):
        best = sizes[np.argmin(parametric_loss(params, sizes, budget / (6 * sizes)))]
        assert float(law.n_opt(budget)) == pytest.approx(best, rel=1e-3)


PROSE_ALLOWED = re.compile(
    r"(Approach(es)? \d( and \d)?|Figure \d|Table \d|\b(19|20)\d\d\b|95%|6ND|C = 6ND|1e\d\d|Approaches 1)"
)


@pytest.mark.parametrize("chapter", ["chapters/04-compute-optimal.qmd", "chapters/05-parametric-loss.qmd"])
def test_prose_numbers_come_from_code(chapter: str) -> None:
    text = (ROOT / chapter).read_text(encoding="utf-8")
    text = re.sub(r"```\{python\}.*?```", " ", text, flags=re.S)  # code cells (captions included)
    text = re.sub(r"`\{python\}[^`]*`", " ", text)  # inline expressions
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " ", text, flags=re.S)  # math (symbols, exponents)
    text = re.sub(r"\[-?@[^\]]*\]|@[\w:-]+", " ", text)  # citations (bracketed or in-text), cross-references
    text = re.sub(r"\{#[^}]*\}", " ", text)
    leftovers = [m.group(0) for m in re.finditer(r"\d[\d.,]*", PROSE_ALLOWED.sub(" ", text))]
    assert leftovers == [], f"literal numbers in the prose of {chapter}: {leftovers}"


def test_display_tables_match_the_computed_values(ch4: co.ComputeOptimalChapter, ch5: pl.ParametricLossChapter,
                                                  fits: epoch.EpochFits) -> None:
    optima = ch4.optima_frame()
    models = epoch.notable_models()
    assert list(optima.columns) == ["Law", *models["name"]]
    assert list(optima["Law"][2:]) == list(co.all_power_laws(fits)["law"])
    gopher = ch4.optimum("gopher", "Approach 3, fitted here")
    cell = optima.set_index("Law").loc["Approach 3, fitted here", ch4.model("gopher")["name"]]
    assert cell.startswith(format_si(gopher["N_opt"], 2) + " (")
    ratio = float(cell.split("(")[1].rstrip("×)"))
    assert ratio == pytest.approx(PUBLISHED_SIZES["gopher"][0] / gopher["N_opt"], rel=0.05)

    exponents = ch4.exponent_frame().set_index("Approach")
    assert list(exponents.index) == ["Approach 1", "Approach 2", "Approach 3"]
    assert float(exponents.loc["Approach 3", "a, published"]) == pytest.approx(0.46)
    assert float(exponents.loc["Approach 1", "a, published"]) == pytest.approx(0.50)
    assert float(exponents.loc["Approach 2", "a, fitted here"]) == pytest.approx(fits.isoflop.exponents["a"], abs=1e-3)
    low, high = (float(v) for v in exponents.loc["Approach 3", "95% interval"].split("–"))
    assert low == pytest.approx(fits.parametric.ci["a"][0], abs=0.01) and high == pytest.approx(fits.parametric.ci["a"][1], abs=0.01)

    parameters = ch5.parameter_frame().set_index("Parameter")
    assert list(parameters.index) == ["E", "A", "B", "α", "β", "a", "b"]
    assert float(parameters.loc["α", pl.PARAMETER_SETS[0]]) == pytest.approx(HOFFMANN["alpha"])
    assert float(parameters.loc["E", pl.PARAMETER_SETS[2]].split(" (")[0]) == pytest.approx(fits.parametric.params["E"], rel=1e-3)
    assert "±" in parameters.loc["E", pl.PARAMETER_SETS[1]]
