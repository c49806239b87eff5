"""Chapter 4: compute-optimal model size against training compute, published and fitted here.

Every law is a power law ``N_opt(C) = n_ref (C / c_ref)**a`` (:class:`analysis.fit.laws.PowerLaw`),
one row of :attr:`ComputeOptimalChapter.laws` (columns as
:data:`analysis.charts.compute_optimal.LAW_COLUMNS`), so one row drives the chart's line, its
budget read-out, its tooltips and the tables. The published lines are drawn from published
numbers only:

* Approaches 1 and 2: the power law through Hoffmann et al. (2022)'s projected compute-optimal
  sizes (Table 3 for Approach 1, Table A3 for Approach 2), slope and level as the rows give them;
* Approach 3: ``G (C / 6)**a`` from the parameters of Appendix D.2, both as printed (rounded) and
  as carried by the paper's source (unrounded, via the replication's code);
* Kaplan et al. (2020): ``N_opt = N_e C_min**0.73`` with ``N_e`` = 1.3e9 non-embedding parameters
  and ``C_min`` in PF-days (Table 6), read with ``C = 2 C_min`` (:data:`KAPLAN_COMPUTE_PER_MINIMUM`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.chapters.epoch import (
    APPROACH_LABELS,
    EXCLUDE_TOP_LOSS,
    ISOFLOP_MIN_RUNS,
    RUNS_SOURCE,
    EpochFits,
    epoch_fits,
    notable_models,
)
from analysis.data import load_table
from analysis.fit.laws import PowerLaw, tokens_at_budget
from analysis.published import published_laws
from analysis.tables import markdown_table
from analysis.text import (
    C_MIN,
    LEVEL,
    bootstrap_interval,
    format_interval,
    format_power,
    format_si,
    format_value,
    number,
    times,
    with_unit,
)

REFERENCE_BUDGET = 1e21
"""Budget (FLOP) at which fitted laws are pinned: N_opt(C) = n_ref (C / REFERENCE_BUDGET) ** a."""
FAR_BUDGET = 1e25
"""A second budget (FLOP) at which a fit's N_opt is checked to be the power law of its exponent."""
BAND_BUDGETS = (1e17, 1e26)
"""Range (FLOP) of the bootstrap bands, the chart's compute axis."""
BAND_POINTS = 40

PF_DAY_FLOP = 8.64e19
"""One petaflop/s-day in FLOP, the unit of Kaplan et al.'s compute (their Section 1.3: 10^15 x 24 x 3600)."""
KAPLAN_COMPUTE_PER_MINIMUM = 2.0
"""``C / C_min`` for Kaplan et al.'s compute-efficient law: training at the critical batch size, the
trade-off they recommend, processes twice the minimum data and so spends twice the minimum compute
(their Section 5.1). With it their law gives the 4.68B parameters Hoffmann et al. (2022, Appendix D.4)
train as Kaplan et al.'s optimum for 1e21 FLOP."""
PROJECTION_RTOL = 0.1
"""A projection row of Hoffmann et al.'s Tables 3 and A3 is used when its FLOP agree with 6ND within
this fraction (every row does but the one whose printed exponent is off by one)."""

OURS1, OURS2, OURS3 = (f"Approach {k}, fitted here" for k in (1, 2, 3))
PUB1, PUB2, PUB3 = (f"Approach {k}, Hoffmann et al." for k in (1, 2, 3))
PUB3_ROUNDED = "Approach 3, Hoffmann et al., rounded"
KAPLAN = "Kaplan et al. (2020)"
PUBLISHED, ROUNDED, FITTED = "published", "published, rounded", "fitted here"
"""The ``variant`` of a law: drawn from published numbers, from the printed (rounded) parameters, or fitted here."""

SHORT_NAMES = {"mt-nlg-530b": "MT-NLG 530B"}
"""Names written beside the stars where the full name does not fit between the lines."""

STATED, SIX_ND = "stated", "6ND"
"""A model's budget as the paper states it, or computed as ``C = 6 N D``."""

FIT_DESCRIPTIONS = {
    "envelope": "lowest final loss per FLOP range (Approach 1 analogue: the per-step curves are not public)",
    "isoflop": f"a parabola in log N per IsoFLOP slice (budgets with {ISOFLOP_MIN_RUNS} or more runs), "
               "then a power law through the minima",
    "parametric": f"L(N, D) fitted with a Huber loss on log-loss, {EXCLUDE_TOP_LOSS} highest losses dropped",
}
EXPONENT_METHODS = {
    "envelope": "lowest final loss per FLOP range (analogue)",
    "isoflop": f"parabola per IsoFLOP slice ({ISOFLOP_MIN_RUNS}+ runs each)",
    "parametric": f"parametric loss, Huber loss, {EXCLUDE_TOP_LOSS} highest losses dropped",
}


def projections(approach: int) -> pd.DataFrame:
    """Hoffmann et al.'s projected compute-optimal sizes for one approach (Table 3 for 1, Table A3
    for 2 and 3): ``N`` (parameters), ``C`` (FLOP), ``D`` (tokens), ``used`` (FLOP within
    :data:`PROJECTION_RTOL` of 6ND), ``source_detail``."""
    table = load_table("hoffmann_projections")
    rows = table[table["approach"] == approach]
    frame = pd.DataFrame({
        "N": rows["parameters"].to_numpy(float), "C": rows["training_flops"].to_numpy(float),
        "D": rows["training_tokens"].to_numpy(float), "source_detail": rows["source_detail"].to_numpy(),
    })
    frame["used"] = np.abs(frame["C"] / (6 * frame["N"] * frame["D"]) - 1) <= PROJECTION_RTOL
    return frame


def projection_law(approach: int) -> PowerLaw:
    """The power law through an approach's projections (least squares of log N on log C over the
    rows used), pinned at Gopher's stated budget."""
    rows = projections(approach).query("used")
    slope, intercept = np.polyfit(np.log10(rows["C"]), np.log10(rows["N"]), 1)
    budget = gopher_stated_budget()
    return PowerLaw(float(slope), budget, float(10 ** (intercept + slope * np.log10(budget))))


def gopher_stated_budget() -> float:
    """Gopher's training compute as Hoffmann et al. state it (FLOP; Figure 2 caption, Table 3)."""
    table = load_table("compute_optimal_models").set_index("model_id")
    return float(table.loc["gopher", "stated_training_flops"])


def kaplan_law(compute_per_minimum: float = KAPLAN_COMPUTE_PER_MINIMUM) -> PowerLaw:
    """Kaplan et al.'s compute-efficient size ``N_e (C_min / 1 PF-day)**a`` as a function of the
    training budget ``C = compute_per_minimum * C_min`` (FLOP); 1 reads ``C_min`` as the budget itself."""
    law = published_laws()["kaplan2020_compute_efficient"].coefficients
    return PowerLaw(law["a"], compute_per_minimum * PF_DAY_FLOP, law["N_e"])


def _row(approach: str, variant: str, label: str, law: PowerLaw, source: str, value_kind: str,
         note: str) -> dict[str, Any]:
    return {"approach": approach, "variant": variant, "law": label, "a": law.exponent, "c_ref": law.c_ref,
            "n_ref": law.n_ref, "source": source, "value_kind": value_kind, "note": note}


def published_power_laws() -> pd.DataFrame:
    """The published laws as power laws, each drawn from published numbers (see the module docstring)."""
    published = published_laws()
    rows = []
    for k, table in ((1, "Table 3"), (2, "Table A3")):
        law = projection_law(k)
        used = projections(k)["used"]
        low, high = published[f"hoffmann2022_approach{k}"].intervals["a"]
        rows.append(_row(
            f"Approach {k}", PUBLISHED, f"Approach {k}, Hoffmann et al.", law,
            f"Hoffmann et al. (2022), {table} ({int(used.sum())} projected sizes)", "exact (from a table)",
            f"The power law through the {int(used.sum())} projections of {table}: a = {law.exponent:.3f} "
            f"(Table 2 prints {published[f'hoffmann2022_approach{k}'].coefficients['a']:.2f}, "
            f"10th–90th percentile {low:g} to {high:g})."))
    for law_id, variant, label, digits in (("hoffmann2022_approach3_unrounded", PUBLISHED, PUB3, "unrounded"),
                                           ("hoffmann2022_approach3", ROUNDED, PUB3_ROUNDED, "printed (rounded)")):
        parametric = published[law_id].law
        law = PowerLaw(parametric.exponents["a"], REFERENCE_BUDGET, float(parametric.n_opt(REFERENCE_BUDGET)))
        source = ("Hoffmann et al. (2022), Appendix D.2, parameters before rounding (Besiroglu et al. 2024)"
                  if variant == PUBLISHED else "Hoffmann et al. (2022), Appendix D.2, printed parameters")
        rows.append(_row("Approach 3", variant, label, law, source, "exact (from a table or text)",
                         f"G (C/6)^a from the {digits} E, A, B, alpha, beta: a = beta/(alpha+beta) = "
                         f"{law.exponent:.4f} (Table 2 prints {published['hoffmann2022_approach3'].coefficients['a']:.2f})."))
    kaplan = kaplan_law()
    rows.append(_row(
        KAPLAN, PUBLISHED, KAPLAN, kaplan,
        f"Kaplan et al. (2020), Table 6 (N = {format_si(kaplan.n_ref, 2)} × {C_MIN} to the power {kaplan.exponent:g}, "
        f"{C_MIN} in PF-days)",
        "exact (from a table)",
        f"{C_MIN} = C/{KAPLAN_COMPUTE_PER_MINIMUM:g}, the compute of training at the critical batch size (Kaplan et al., "
        f"Section 5.1): {format_si(kaplan.at(1e21), 3)} parameters at {with_unit(format_power(1e21, 1), 'FLOP')}, as Hoffmann et al. "
        "(Appendix D.4) use it. N counts non-embedding parameters."))
    return pd.DataFrame(rows)


def _power_law_of(result: Any) -> PowerLaw:
    """A result's N_opt(C) as a power law pinned at :data:`REFERENCE_BUDGET`, checked to be one."""
    law = PowerLaw(float(result.exponents["a"]), REFERENCE_BUDGET, float(np.asarray(result.n_opt(REFERENCE_BUDGET))))
    if not np.isclose(float(np.asarray(result.n_opt(FAR_BUDGET))), law.at(FAR_BUDGET), rtol=1e-6):
        raise ValueError(f"{type(result).__name__}.n_opt is not the power law of its exponent a")
    return law


def fitted_power_laws(fits: EpochFits) -> pd.DataFrame:
    """Our three fits as power laws (columns as :func:`published_power_laws`)."""
    rows = []
    for key, result in fits.results().items():
        law = _power_law_of(result)
        low, high = result.ci.get("a", (np.nan, np.nan))
        rows.append(_row(APPROACH_LABELS[key], FITTED, f"{APPROACH_LABELS[key]}, fitted here", law,
                         RUNS_SOURCE + f", {fits.n_runs} runs", "fitted (runs are approximate)",
                         f"{FIT_DESCRIPTIONS[key]}; a = {law.exponent:.3f} ({LEVEL:.0%} bootstrap interval "
                         f"{low:.3f} to {high:.3f})."))
    return pd.DataFrame(rows)


def all_power_laws(fits: EpochFits) -> pd.DataFrame:
    """Published and fitted laws, ordered by approach (1, 2, 3, Kaplan), published first."""
    laws = pd.concat([published_power_laws(), fitted_power_laws(fits)], ignore_index=True)
    order = {"Approach 1": 0, "Approach 2": 1, "Approach 3": 2}
    variants = {PUBLISHED: 0, ROUNDED: 1, FITTED: 2}
    laws["_order"] = laws["approach"].map(order).fillna(3) * 3 + laws["variant"].map(variants)
    return laws.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def fitted_bands(fits: EpochFits, c_range: tuple[float, float] = BAND_BUDGETS, points: int = BAND_POINTS) -> pd.DataFrame:
    """Bootstrap bands of N_opt(C) of our fits: ``law``, ``approach``, ``C``, ``N_lo``, ``N_hi``, ``level``."""
    budgets = np.geomspace(c_range[0], c_range[1], points)
    frames = []
    for key, result in fits.results().items():
        if not result.ci:
            continue
        low, high = result.n_opt_interval(budgets, level=LEVEL)
        frames.append(pd.DataFrame({
            "law": f"{APPROACH_LABELS[key]}, fitted here", "approach": APPROACH_LABELS[key], "C": budgets,
            "N_lo": np.asarray(low, dtype=float), "N_hi": np.asarray(high, dtype=float), "level": LEVEL,
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["law", "approach", "C", "N_lo", "N_hi", "level"])


def n_opt_under(law: Mapping[str, Any], budget: float) -> float:
    """Compute-optimal parameters at ``budget`` (FLOP) under one row of :func:`all_power_laws`."""
    return PowerLaw(law["a"], law["c_ref"], law["n_ref"]).at(budget)


def model_budgets() -> pd.DataFrame:
    """Each notable model at its budget ``C = 6 N D`` (``budget_kind`` :data:`SIX_ND`), and again at
    the budget Hoffmann et al. state where they state one (:data:`STATED`): ``model_id``, ``name``,
    ``N``, ``D``, ``C``, ``budget_kind``."""
    models = notable_models()
    stated = load_table("compute_optimal_models").set_index("model_id")["stated_training_flops"]
    frames = [models.assign(budget_kind=SIX_ND)]
    with_stated = models[models["model_id"].map(stated).notna()]
    frames.append(with_stated.assign(C=with_stated["model_id"].map(stated).astype(float), budget_kind=STATED))
    return pd.concat(frames, ignore_index=True)[["model_id", "name", "N", "D", "C", "budget_kind"]]


def model_optima(fits: EpochFits, laws: pd.DataFrame) -> pd.DataFrame:
    """Each model's budget (both kinds, :func:`model_budgets`) under each law: one row per (model,
    budget kind, law) with ``N_opt`` (parameters), ``D_opt = C / (6 N_opt)`` (tokens), ``size_ratio =
    N / N_opt``, ``tokens_per_parameter`` (at the optimum) and, for our fits, the bootstrap interval
    ``N_opt_lo``, ``N_opt_hi``."""
    results = {f"{APPROACH_LABELS[key]}, fitted here": result for key, result in fits.results().items()}
    rows = []
    for model in model_budgets().itertuples(index=False):
        for law in laws.to_dict("records"):
            n_opt = n_opt_under(law, model.C)
            low = high = np.nan
            result = results.get(law["law"])
            if result is not None and result.ci:
                low, high = (float(np.asarray(v)) for v in result.n_opt_interval(model.C, level=LEVEL))
            d_opt = tokens_at_budget(model.C, n_opt)
            rows.append({
                "model_id": model.model_id, "model": model.name, "N": model.N, "D": model.D,
                "C": model.C, "budget_kind": model.budget_kind, "law": law["law"], "approach": law["approach"],
                "variant": law["variant"], "N_opt": n_opt, "N_opt_lo": low, "N_opt_hi": high, "D_opt": d_opt,
                "size_ratio": model.N / n_opt, "tokens_per_parameter": d_opt / n_opt,
            })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ComputeOptimalChapter:
    """Everything chapter 4 shows.

    Attributes:
        fits: the three fits on the Epoch runs (:class:`analysis.chapters.epoch.EpochFits`).
        laws: published and fitted power laws (:func:`all_power_laws`).
        bands: bootstrap bands of the fitted laws (:func:`fitted_bands`).
        models: the notable models at their budgets ``6ND`` (:func:`analysis.chapters.epoch.notable_models`),
            with ``stated_C`` (FLOP, NaN where Hoffmann et al. state none).
        optima: every model under every law (:func:`model_optima`).
    """

    fits: EpochFits
    laws: pd.DataFrame
    bands: pd.DataFrame
    models: pd.DataFrame
    optima: pd.DataFrame

    def law(self, name: str) -> pd.Series:
        """One row of :attr:`laws` by its label (e.g. :data:`PUB3`)."""
        return self.laws[self.laws["law"] == name].iloc[0]

    def exponent(self, name: str, digits: int = 2) -> str:
        """A law's exponent ``a`` to ``digits`` significant figures."""
        return format_value(self.law(name)["a"], digits)

    def n_opt(self, name: str, budget: float) -> float:
        """Compute-optimal parameters under a law at ``budget`` FLOP."""
        return n_opt_under(self.law(name), budget)

    def model(self, model_id: str) -> pd.Series:
        """One notable model by id: ``name``, ``N``, ``D``, ``C`` (6ND), ``stated_C``, provenance."""
        return self.models.set_index("model_id").loc[model_id].rename(model_id)

    def optimum(self, model_id: str, law: str, budget_kind: str = SIX_ND) -> pd.Series:
        """One row of :attr:`optima` (e.g. ``("gopher", OURS3)``; ``budget_kind`` :data:`STATED` for the stated budget)."""
        match = self.optima[(self.optima["model_id"] == model_id) & (self.optima["law"] == law)
                            & (self.optima["budget_kind"] == budget_kind)]
        if match.empty:
            raise KeyError(f"no optimum for model {model_id!r} under law {law!r} at its {budget_kind} budget")
        return match.iloc[0]

    def n_opt_interval_text(self, model_id: str, law: str = OURS3) -> str:
        """The bootstrap interval of a model's N_opt under a fitted law: ``"95% bootstrap interval 48B–104B"``."""
        row = self.optimum(model_id, law)
        return bootstrap_interval(row["N_opt_lo"], row["N_opt_hi"], lambda v: format_si(v, 2))

    @property
    def stated_budget(self) -> float:
        """Gopher's budget as Hoffmann et al. state it, which they give Chinchilla too (FLOP)."""
        return gopher_stated_budget()

    @property
    def named_budgets(self) -> dict[str, float]:
        """The models' budgets for the chart's selector: each at 6ND, and the budget Hoffmann et al. state."""
        budgets = {f"{m.label}, 6ND": float(m.C) for m in self.models.itertuples()}
        budgets["Gopher and Chinchilla, as stated"] = self.stated_budget
        return budgets

    @property
    def budget_ratio(self) -> float:
        """Gopher's stated budget over its 6ND budget."""
        return self.stated_budget / float(self.model("gopher")["C"])

    @property
    def least_oversized(self) -> pd.Series:
        """Of the models other than Chinchilla, the one closest to compute-optimal under our Approach 3
        (``name``, ``size_ratio``)."""
        ours = self.optima[(self.optima["law"] == OURS3) & (self.optima["model_id"] != "chinchilla")
                           & (self.optima["budget_kind"] == SIX_ND)]
        row = ours.loc[ours["size_ratio"].idxmin()]
        return pd.Series({"name": row["model"], "size_ratio": row["size_ratio"]})

    @property
    def large_models(self) -> pd.DataFrame:
        """The models other than Chinchilla at their 6ND budgets."""
        return self.models[self.models["model_id"] != "chinchilla"]

    @property
    def kaplan_ratios(self) -> pd.Series:
        """Each large model's size over Kaplan et al.'s compute-efficient size at its 6ND budget, by name."""
        kaplan = self.law(KAPLAN)
        return pd.Series({m.name: m.N / n_opt_under(kaplan, m.C) for m in self.large_models.itertuples()})

    @property
    def hoffmann_ratios(self) -> pd.Series:
        """Each large model's size over the largest N_opt any Hoffmann et al. law (published or fitted
        here) gives at its 6ND budget, by name."""
        hoffmann = self.laws[self.laws["approach"] != KAPLAN]
        return pd.Series({m.name: m.N / max(n_opt_under(law, m.C) for law in hoffmann.to_dict("records"))
                          for m in self.large_models.itertuples()})

    @property
    def kaplan_position(self) -> str:
        """Where the three large models sit: ``"between"`` Kaplan et al.'s line (below it) and every
        Hoffmann et al. line (above them), or ``"not all between"``."""
        between = (self.kaplan_ratios < 1).all() and (self.hoffmann_ratios > 1).all()
        return "between" if between else "not all between"

    @property
    def hoffmann_a_range(self) -> tuple[float, float]:
        """Smallest and largest exponent ``a`` of every law but Kaplan et al.'s."""
        values = self.laws.loc[self.laws["approach"] != KAPLAN, "a"]
        return float(values.min()), float(values.max())

    def table2(self, approach: int) -> tuple[float, float, float]:
        """Approach ``approach``'s exponent ``a`` as printed in Hoffmann et al.'s Table 2, with its
        10th and 90th bootstrap percentiles: ``(a, low, high)``."""
        law = published_laws()[f"hoffmann2022_approach{approach}"]
        return (law.coefficients["a"], *law.intervals["a"])

    def table2_outside(self, approach: int) -> str:
        """Whether Table 2's ``a`` of an approach lies ``"inside"`` or ``"outside"`` our fit's interval."""
        key = {1: "envelope", 2: "isoflop", 3: "parametric"}[approach]
        low, high = self.fits.results()[key].ci["a"]
        return "inside" if low <= self.table2(approach)[0] <= high else "outside"

    def table2_verdict(self) -> str:
        """Where Table 2's exponents of Approaches 1 and 2 lie against our intervals, as words:
        ``"inside"``, ``"outside"``, or ``"inside and outside, respectively"``."""
        first, second = self.table2_outside(1), self.table2_outside(2)
        return first if first == second else f"{first} and {second}, respectively"

    def hoffmann_spread(self, budget: float) -> float:
        """Largest over smallest N_opt of Hoffmann et al.'s laws (published and fitted here) at ``budget`` FLOP."""
        values = [n_opt_under(law, budget) for law in self.laws[self.laws["approach"] != KAPLAN].to_dict("records")]
        return max(values) / min(values)

    @property
    def run_budgets(self) -> tuple[float, float]:
        """Smallest and largest training compute of the runs (FLOP)."""
        return float(self.fits.runs["C"].min()), float(self.fits.runs["C"].max())

    @property
    def spread_within_runs(self) -> float:
        """The largest :meth:`hoffmann_spread` at budgets inside the runs' range."""
        low, high = self.run_budgets
        return max(self.hoffmann_spread(c) for c in np.geomspace(low, high, 25))

    @property
    def chinchilla_on_lines(self) -> str:
        """Whether Chinchilla lies on the published lines of Approaches 1 and 2 (within a quarter of
        compute-optimal at its 6ND budget): ``"on"``, else ``"off"``."""
        ratios = [self.optimum("chinchilla", law)["size_ratio"] for law in (PUB1, PUB2)]
        return "on" if all(0.8 <= r <= 1.25 for r in ratios) else "off"

    def stated_increase(self, law: str) -> float:
        """How much larger a law's N_opt is at Gopher's stated budget than at its 6ND budget (fraction)."""
        return self.optimum("gopher", law, STATED)["N_opt"] / self.optimum("gopher", law)["N_opt"] - 1

    @property
    def flattest(self) -> str:
        """The approach whose published line is the flattest (smallest ``a``), e.g. ``"Approach 3"``."""
        published = self.laws[(self.laws["variant"] == PUBLISHED) & (self.laws["approach"] != KAPLAN)]
        return str(published.loc[published["a"].idxmin(), "approach"])

    @property
    def data_share_trend(self) -> str:
        """Whether tokens per parameter ``"falls"`` or ``"grows"`` with the budget under our Approach 3."""
        exponents = self.fits.parametric.exponents
        return "falls" if exponents["b"] < exponents["a"] else "grows"

    @property
    def data_exponent_relation(self) -> str:
        """``"below"`` or ``"above"``: the data exponent b against the parameter exponent a (Approach 3)."""
        exponents = self.fits.parametric.exponents
        return "below" if exponents["b"] < exponents["a"] else "above"

    def tokens_per_parameter(self, budget: float) -> float:
        """Tokens per parameter of our Approach 3 fit at ``budget`` FLOP."""
        return float(self.fits.parametric.tokens_per_parameter(budget))

    def projection_spread(self, approach: int) -> float:
        """Largest relative distance of an approach's used projections from its drawn line (Approaches 1, 2)
        or from the unrounded Approach 3 line."""
        rows = projections(approach).query("used")
        label = {1: PUB1, 2: PUB2, 3: PUB3}[approach]
        line = np.array([self.n_opt(label, c) for c in rows["C"]])
        return float(np.max(np.abs(line / rows["N"].to_numpy() - 1)))

    def optima_table(self) -> Markdown:
        """:meth:`optima_frame` as a table."""
        return markdown_table(self.optima_frame())

    def optima_frame(self) -> pd.DataFrame:
        """Compute-optimal sizes as text: one column per model (headed by its name), rows for its actual
        size (parameters), its budget ``C = 6ND`` (FLOP) and, per law, ``N_opt`` at that budget with the
        model's size as a multiple of it."""
        models = self.models
        rows = [
            {"Law": "Actual size (parameters)", **{m.name: format_si(m.N, 2) for m in models.itertuples()}},
            {"Law": "Budget 6ND (FLOP)", **{m.name: number(m.C, 3) for m in models.itertuples()}},
        ]
        six_nd = self.optima[self.optima["budget_kind"] == SIX_ND]
        for law in self.laws["law"]:
            under = six_nd[six_nd["law"] == law]
            rows.append({"Law": law, **{m.model: f"{format_si(m.N_opt, 2)} ({times(m.size_ratio)})"
                                        for m in under.itertuples()}})
        return pd.DataFrame(rows)

    def gopher_table(self) -> Markdown:
        """:meth:`gopher_frame` as a table."""
        return markdown_table(self.gopher_frame())

    def gopher_frame(self) -> pd.DataFrame:
        """Per law, as text: N_opt at Gopher's budget computed as 6ND and as Hoffmann et al. state it,
        and Gopher's size as a multiple of each."""
        rows = []
        for law in self.laws["law"]:
            six_nd, stated = self.optimum("gopher", law), self.optimum("gopher", law, STATED)
            rows.append({
                "Law": law,
                f"Optimum at {with_unit(number(six_nd['C'], 3), 'FLOP')} (6ND)": f"{format_si(six_nd['N_opt'], 2)} "
                                                                   f"({times(six_nd['size_ratio'])})",
                f"Optimum at {with_unit(number(stated['C'], 3), 'FLOP')} (stated)": f"{format_si(stated['N_opt'], 2)} "
                                                                      f"({times(stated['size_ratio'])})",
            })
        return pd.DataFrame(rows)

    def exponent_table(self) -> Markdown:
        """:meth:`exponent_frame` as a table; the estimator column gets about half the width, so each
        approach's description stays on its row's one line in print."""
        frame = self.exponent_frame()
        widths = dict.fromkeys(frame.columns, 12) | {"Table 2": 8, "Fitted here": 8, "Our estimator": 48}
        return markdown_table(frame, widths=widths)

    def exponent_frame(self) -> pd.DataFrame:
        """Per approach, as text: the exponent ``a`` as printed in Hoffmann et al.'s Table 2 with its
        10th-90th percentile interval, as fitted here with its 95% bootstrap interval, and our estimator."""
        laws = self.laws.set_index("law")
        rows = []
        for k, (key, result) in enumerate(self.fits.results().items(), start=1):
            a, low, high = self.table2(k)
            fit_low, fit_high = result.ci.get("a", (np.nan, np.nan))
            rows.append({
                "Approach": APPROACH_LABELS[key],
                "Table 2": format_value(a, 2),
                "10th–90th percentile": format_interval(low, high, 3),
                "Fitted here": format_value(laws.loc[f"{APPROACH_LABELS[key]}, fitted here", "a"], 3),
                f"{LEVEL:.0%} interval": format_interval(fit_low, fit_high, 3),
                "Our estimator": EXPONENT_METHODS[key],
            })
        return pd.DataFrame(rows)


def chapter_for(fits: EpochFits) -> ComputeOptimalChapter:
    """Chapter 4's result for a given set of fits (the book's, or a test's with fewer resamples)."""
    laws = all_power_laws(fits)
    stated = load_table("compute_optimal_models").set_index("model_id")["stated_training_flops"]
    models = notable_models()
    models = models.assign(stated_C=models["model_id"].map(stated).astype(float),
                           label=[SHORT_NAMES.get(m, name) for m, name in zip(models["model_id"], models["name"])])
    return ComputeOptimalChapter(fits, laws, fitted_bands(fits), models, model_optima(fits, laws))


@functools.cache
def compute_optimal_chapter() -> ComputeOptimalChapter:
    """Chapter 4 (cached) on the book's fits."""
    return chapter_for(epoch_fits())
