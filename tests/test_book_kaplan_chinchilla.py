"""Chapter 6 (Porian et al.'s staircase): the refitted exponents against the published ones, every claim the
prose makes recomputed from the refits by hand, and the charts' specs."""

from __future__ import annotations

import html
import inspect
import re

import numpy as np
import pytest

import analysis.charts  # noqa: F401
from analysis.chapters import appendices, porian
from analysis.chapters import kaplan_chinchilla as k6
from analysis.chapters.common import SEED
from analysis.charts import kaplan_chinchilla as charts
from analysis.charts.renderer import chart_svg
from analysis.text import format_power

N_BOOTSTRAP = 200  # the book uses porian.N_BOOTSTRAP
# Porian et al. (2024), the exponent a of each setting as the authors' result files give it
# (fit_results bs_median_weighted n_exponent, repository formll/resolving-scaling-law-discrepancies at 0dc60d9).
PUBLISHED = {("rw", 1): 0.835, ("rw", 2): 0.706, ("rw", 3): 0.602, ("rw", 4): 0.571, ("rw", 5): 0.497,
             ("owt2", 1): 0.864, ("owt2", 2): 0.699, ("owt2", 3): 0.603, ("owt2", 4): 0.574, ("owt2", 5): 0.518}
TOLERANCE = 0.02
"""How close each refitted exponent must come to the published one."""
PF_DAY = 1e15 * 24 * 60 * 60  # FLOP in a petaflop/s-day


@pytest.fixture(scope="module")
def ch6() -> k6.KaplanChinchillaChapter:
    return k6.chapter_for(porian.refit_results(N_BOOTSTRAP, SEED))


def _a(ch6: k6.KaplanChinchillaChapter, dataset: str, step: int) -> float:
    return ch6.results[(dataset, step)].exponents["a"]


def test_each_refitted_exponent_is_within_tolerance_of_the_published_one(ch6) -> None:
    assert {(d, s) for d, s in zip(ch6.exponents["dataset"], ch6.exponents["step"], strict=True)} == set(PUBLISHED)
    for (dataset, step), published in PUBLISHED.items():
        row = ch6.row(dataset, step)
        assert row["published"] == published
        assert abs(_a(ch6, dataset, step) - published) < TOLERANCE, (dataset, step)
        assert row["difference"] == pytest.approx(_a(ch6, dataset, step) - published)
    assert ch6.max_abs_difference == max(abs(_a(ch6, *key) - value) for key, value in PUBLISHED.items())
    inside = sum(ch6.results[key].ci["a"][0] <= value <= ch6.results[key].ci["a"][1] for key, value in PUBLISHED.items())
    assert ch6.published_inside == inside


def test_the_exponent_table_prints_the_refits(ch6) -> None:
    frame = ch6.exponent_frame()
    assert len(frame) == len(PUBLISHED)
    for row, (key, published) in zip(frame.itertuples(index=False), PUBLISHED.items(), strict=True):
        a = _a(ch6, *key)
        low, high = ch6.results[key].ci["a"]
        assert float(row[2]) == pytest.approx(a, abs=5e-4)
        assert [float(v) for v in row[3].split("–")] == pytest.approx([low, high], abs=5e-4)
        assert float(row[4]) == published
        assert float(row[5].replace("−", "-")) == pytest.approx(round(a - published, 3), abs=1e-9)
        assert row[1].startswith(f"{key[1]}: ")


def test_staircase_claims_recomputed(ch6) -> None:
    for dataset in porian.DATASETS:
        a = dict(zip(porian.STEPS, (_a(ch6, dataset, step) for step in porian.STEPS), strict=True))
        # Porian et al.'s Figure 1: 1 -> 2 -> 3, then 3 -> 4 and 3 -> 5 (constant learning rate, tuned AdamW).
        drops = np.array([a[1] - a[2], a[2] - a[3], a[3] - a[4], a[3] - a[5]])
        assert ch6.every_step_lowers == bool((drops > 0).all())
        assert [ch6.drop(dataset, step) for step in porian.STEPS[1:]] == pytest.approx(drops)
        assert ch6.ranked_steps(dataset) == [int(s) for s in np.array(porian.STEPS[1:])[np.argsort(-drops)]]
        assert ch6.whole_fall(dataset) == pytest.approx(a[1] - a[5])
        shares = ch6.drops[ch6.drops["dataset"] == dataset].set_index("step")["share"]
        assert shares[list(porian.PATH_STEPS[1:])].sum() == pytest.approx(1.0)
    # What the prose says about these runs, checked against the refits themselves.
    assert ch6.every_step_lowers
    assert ch6.ranked_everywhere(2, 0) and ch6.ranked_everywhere(4, -1)
    assert ch6.ranking_text("rw").startswith("step 2 (last layer counted), ")
    hoffmann = ch6.reference_a(k6.HOFFMANN)
    assert hoffmann == 0.5 and all(ch6.covers(d, 5, hoffmann) for d in porian.DATASETS)


def test_which_kaplan_exponent_claims(ch6) -> None:
    porian_kaplan, quoted = ch6.reference_a(k6.KAPLAN_PORIAN), ch6.reference_a(k6.KAPLAN_QUOTED)
    assert (porian_kaplan, quoted, ch6.reference_a(k6.KAPLAN_TABLE6)) == (0.88, 0.73, 0.73)
    rw, owt2 = ch6.results[("rw", 1)].ci["a"], ch6.results[("owt2", 1)].ci["a"]
    assert rw[1] < porian_kaplan and owt2[0] <= porian_kaplan <= owt2[1]
    assert rw[0] > quoted and owt2[0] > quoted
    assert (ch6.position("rw", 1, porian_kaplan), ch6.position("owt2", 1, porian_kaplan)) == ("above", "inside")
    assert (ch6.position("rw", 1, quoted), ch6.position("owt2", 1, quoted)) == ("below", "below")
    assert ch6.position_text(1, porian_kaplan) == "above the RefinedWeb interval and inside the OpenWebText2 one"
    assert ch6.position_text(1, quoted) == "below both intervals"


def test_reference_laws_match_the_published_formulas(ch6) -> None:
    laws = ch6.references.set_index("law_id")
    budget = 1e21
    kaplan = laws.loc[k6.KAPLAN_PORIAN]
    assert kaplan["n_ref"] * (budget / kaplan["c_ref"]) ** kaplan["a"] == pytest.approx(1.6e9 * (budget / PF_DAY) ** 0.88)
    table6 = laws.loc[k6.KAPLAN_TABLE6]
    # Kaplan et al., Table 6: N = 1.3e9 C_min^0.73 (PF-days), read as chapter 4 reads it, C_min = C / 2.
    assert table6["n_ref"] * (budget / table6["c_ref"]) ** table6["a"] == pytest.approx(1.3e9 * (budget / 2 / PF_DAY) ** 0.73)
    assert "0.88" in kaplan["law"] and "0.73" in table6["law"]
    assert ch6.reference_n_opt_at_marked(k6.KAPLAN_PORIAN) == pytest.approx(1.6e9 * (6 * 70e9 * 1.4e12 / PF_DAY) ** 0.88)
    # Hoffmann et al. (2022), Table 3: 67B parameters at 5.76e23 FLOP, 1.5T tokens.
    row = ch6.projections[ch6.projections["N"] == 67e9].iloc[0]
    assert (row["C"], row["D"]) == (5.76e23, 1.5e12)


def test_extrapolation_to_chinchilla_by_hand(ch6) -> None:
    budget = 6 * 70e9 * 1.4e12  # Chinchilla: 70B parameters, 1.4T tokens (Hoffmann et al. 2022, Table 1)
    assert float(ch6.marked["C"]) == pytest.approx(budget)
    assert ch6.extrapolation_factor == pytest.approx(budget / 2.56e19)
    for key in ((d, s) for d in porian.DATASETS for s in (1, 5)):
        result = ch6.results[key]
        n_opt = result.coefficients["k_N"] * budget ** result.exponents["a"]
        at = ch6.n_opt_at_marked(*key)
        assert at["N_opt"] == pytest.approx(n_opt) and at["ratio"] == pytest.approx(n_opt / 70e9)
        log_lines = result.samples[:, 0] + result.samples[:, 1] * np.log10(budget)
        assert np.log10(at["N_opt_lo"]) == pytest.approx(np.percentile(log_lines, 2.5), abs=1e-9)
    assert ch6.gap_factor(0.1) == pytest.approx(10 ** (0.1 * np.log10(budget / 2.56e19)))
    holds = all(ch6.n_opt_at_marked(d, 5)["N_opt_lo"] <= 70e9 <= ch6.n_opt_at_marked(d, 5)["N_opt_hi"] for d in porian.DATASETS)
    assert ch6.holds_marked(5) == holds and not ch6.holds_marked(1)
    n_opt = ch6.n_opt_at_marked("rw", 5)["N_opt"]
    assert ch6.n_opt_text("rw", 5).startswith(f"{n_opt / 1e9:.1f}B parameters (95% bootstrap interval ")
    lines = ch6.lines
    fitted = lines[~lines["extrapolated"]]
    assert fitted["C"].min() == pytest.approx(1.25e16) and fitted["C"].max() == pytest.approx(2.56e19)


def test_model_sizes_and_profiles(ch6) -> None:
    sizes = ch6.model_sizes
    assert len(sizes) == 16 and (np.diff(sizes["last_layer_share"]) < 0).all()
    assert sizes["last_layer_share"].iloc[0] == pytest.approx(1 - 331776 / 5173248)
    # The profile passes through the best run at each size, and each star lies on its profile.
    result = ch6.results[("rw", 5)]
    runs = ch6.profile_runs[ch6.profile_runs["step"] == 5]
    for budget, group in runs.groupby("C"):
        best = group.groupby("N")["loss"].min()
        np.testing.assert_allclose(result.profile(budget, best.index.to_numpy()), best.to_numpy(), rtol=1e-9)
    growth = ch6.optimum_growth("rw", 1)
    used = result.budgets  # step 5: every budget used
    assert used["included"].all() and growth["budget_factor"] == pytest.approx(1.28e19 / 1.25e16)
    assert len(ch6.excluded_budgets) == sum(int(r.budgets_used < r.budgets) for r in ch6.exponents.itertuples())
    excluded = ch6.excluded_budgets
    for (step, C), rows in excluded.groupby(["step", "C"]):
        at = f"step {step} at {format_power(C, 3, 'FLOP')}"
        if len(rows) == len(porian.DATASETS):
            assert f"{at} on both datasets" in ch6.excluded_text
        else:
            assert all(f"{name} {at}" in ch6.excluded_text for name in rows["dataset_name"])


def _marks(spec: dict) -> list[dict]:
    found = [spec] if "mark" in spec else []
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            found.extend(_marks(child))
    return found


@pytest.fixture(scope="module")
def specs(ch6) -> dict[str, dict]:
    figures = {
        "staircase": charts.exponent_staircase(ch6.exponents, ch6.reference_exponents, k6.SHORT_NAMES, porian.BASE_STEP),
        "profiles": charts.isoflop_profiles_figure(
            ch6.profile_runs, ch6.profiles, ch6.optima[ch6.optima["dataset"] == k6.PROFILE_DATASET], ch6.settings,
            k6.PROFILE_STEPS, dataset_name=porian.DATASETS[k6.PROFILE_DATASET]),
        "lines": charts.compute_optimal_lines_figure(
            ch6.lines, ch6.optima, ch6.references, ch6.projections, ch6.marked, ch6.settings, ch6.exponents,
            dataset_names=porian.DATASETS, c_range=k6.C_RANGE),
    }
    return {name: figure.to_dict(validate=True) for name, figure in figures.items()}


EXPECTED_MARKS = {
    "staircase": ["rule", "text", "text", "text", "text", "rule", "tick", "point"],  # labels over white halos
    "profiles": ["line", "point", "rule", "point"] * 2,
    "lines": ["area", "line", "point", "line", "line", "line", "point", "point", "text", "text"] * 2,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_MARKS))
def test_chart_specs_have_a_sourced_tooltip_on_every_mark(specs, name) -> None:
    spec = specs[name]
    views = _marks(spec)
    assert [v["mark"]["type"] if isinstance(v["mark"], dict) else v["mark"] for v in views] == EXPECTED_MARKS[name]
    for view in views:
        titles = [t.get("title") for t in view["encoding"]["tooltip"]]
        assert "Source" in titles, f"{name}: a {view['mark']} mark has no source in its tooltip"
    assert len(spec["description"]) > 100
    assert len(str(spec)) < 300_000  # the data travel inside every page
    meta = spec["usermeta"]["atlas"]
    assert meta["source"].startswith("Data: ") and "Porian et al. (2024)" in meta["source"]
    assert meta["source"].endswith("Fits: this book.") and "2024resolving" not in meta["source"]
    assert len(meta["csv"].splitlines()) > 10


SVG_TEXT = {
    "staircase": ("Kaplan", "last layer", "AdamW", "Hoffmann et al., Approach 1: 0.50", "OpenWebText2",
                  "Published exponent"),
    "profiles": ("Step 1: Kaplan et al.’s set-up reproduced", "Final loss (nats/token)", "Budget (FLOP)"),
    "lines": ("Chinchilla", "RefinedWeb", "Kaplan et al., a = 0.88 in C", "Hoffmann et al., Table 3 (Approach 1)"),
}


@pytest.mark.parametrize("name", sorted(SVG_TEXT))
def test_static_svg_draws_the_labels(specs, name) -> None:
    svg = chart_svg(specs[name])
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)  # multi-line labels hold <tspan>s
    drawn = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", t)) for t in texts)
    for expected in SVG_TEXT[name]:
        assert expected in drawn, f"{name}: {expected!r} not drawn"


def test_profile_runs_above_the_panels_are_counted_in_the_description(ch6, specs) -> None:
    above = int((ch6.profile_runs["loss"] > charts.LOSS_TOP).sum())
    assert f"{above} runs with losses above" in specs["profiles"]["description"]


def test_staircase_legend_names_the_black_tick(specs) -> None:
    tick = next(view for view in _marks(specs["staircase"]) if view["mark"]["type"] == "tick")
    key = tick["encoding"]["fill"]
    assert key["scale"] == {"domain": [charts.PUBLISHED_LABEL], "range": [charts.NAMED_MODEL_COLOR]}
    assert key["legend"]["symbolType"] == charts.TICK_SYMBOL  # drawn as a tick, in the colour of the ticks
    assert "color" not in tick["mark"] and "color" not in tick["encoding"]


def test_line_legend_symbols_show_the_lines_they_stand_for(ch6, specs) -> None:
    """In the drawn legend each step's symbol is a solid line, each reference's carries its line's dashes, and
    every symbol is long enough to show them (the static SVG, as the PDF and the downloads draw it)."""
    svg = chart_svg(specs["lines"])
    symbols = re.findall(r'<g class="mark-symbol role-legend-symbol"[^>]*><path [^>]*d="M(-[\d.]+),0L([\d.]+),0" '
                         r'fill="[^"]*" stroke="(#[0-9A-Fa-f]{6})"[^>]*stroke-dasharray="([\d.,]+)"', svg)
    drawn = {colour.upper(): (float(right) - float(left), dash) for left, right, colour, dash in symbols}
    steps = dict(zip(charts.STEP_COLOURS, ch6.settings, strict=False))
    references = dict(zip(charts.KAPLAN_COLOURS, charts.REFERENCE_DASHES, strict=False))
    references[charts.HOFFMANN_COLOUR] = charts.REFERENCE_DASHES[2]
    assert set(drawn) == {c.upper() for c in (*steps, *references)}
    assert all(length >= 20 for length, _ in drawn.values())
    assert all(drawn[colour.upper()][1] == "1,0" for colour in steps)
    assert all(drawn[colour.upper()][1] == ",".join(map(str, dash)) for colour, dash in references.items())


def test_the_methods_appendix_describes_the_estimator_chapter_6_fits_with(ch6) -> None:
    spline = appendices.interpolation()
    defaults = inspect.signature(k6.kaplan_chinchilla_chapter).parameters
    assert (spline.n_bootstrap, spline.seed) == (defaults["n_bootstrap"].default, defaults["seed"].default)
    for (dataset, _), result in ch6.results.items():
        assert result.profile_method == "interpolation" and "weight" in result.budgets.columns
        assert result.loss_noise == spline.loss_noise[porian.DATASETS[dataset]]
        assert result.budgets["n_runs"][result.budgets["included"]].min() >= spline.min_runs
