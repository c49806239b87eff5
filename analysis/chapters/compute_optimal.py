"""Chapter 4: compute-optimal model size against training compute, published and fitted here.

Every law is a power law ``N_opt(C) = n_ref (C / c_ref)**a`` (:class:`analysis.fit.laws.PowerLaw`),
one row of :attr:`ComputeOptimalChapter.laws` (columns as
:data:`analysis.charts.compute_optimal.LAW_COLUMNS`), so one row drives the chart's line, its
slider read-out, its tooltips and the tables.
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
    notable_model,
    notable_models,
)
from analysis.fit.laws import PowerLaw, tokens_at_budget
from analysis.published import published_laws
from analysis.tables import markdown_table
from analysis.text import LEVEL, format_interval, format_power, format_si, format_value, times

REFERENCE_BUDGET = 1e21
"""Budget (FLOP) at which fitted laws are pinned: N_opt(C) = n_ref (C / REFERENCE_BUDGET) ** a."""
FAR_BUDGET = 1e25
"""A second budget (FLOP) at which a fit's N_opt is checked to be the power law of its exponent."""
BAND_BUDGETS = (1e17, 1e26)
"""Range (FLOP) of the bootstrap bands, the chart's compute axis."""
BAND_POINTS = 40

OURS1, OURS2, OURS3 = (f"Approach {k}, fitted here" for k in (1, 2, 3))
PUB1, PUB2, PUB3 = (f"Approach {k}, Hoffmann et al." for k in (1, 2, 3))
KAPLAN = "Kaplan et al. (2020)"

FIT_DESCRIPTIONS = {
    "envelope": "lowest final loss per FLOP range (Approach 1 analogue: the per-step curves are not public)",
    "isoflop": f"a parabola in log N per IsoFLOP slice (budgets with {ISOFLOP_MIN_RUNS} or more runs), "
               "then N_opt ∝ C^a",
    "parametric": f"L(N, D) fitted with a Huber loss on log-loss, {EXCLUDE_TOP_LOSS} highest losses dropped",
}
EXPONENT_METHODS = {
    "envelope": "lowest final loss per FLOP range (analogue)",
    "isoflop": f"parabola per IsoFLOP slice ({ISOFLOP_MIN_RUNS}+ runs each)",
    "parametric": f"L(N, D), Huber loss, {EXCLUDE_TOP_LOSS} highest losses dropped",
}


def published_power_laws() -> pd.DataFrame:
    """The published laws as power laws ``N_opt = n_ref (C / c_ref) ** a``.

    Approaches 1 and 2 and Kaplan et al. are published as exponents only (Hoffmann et al. 2022,
    Table 2); our table holds no prefactor for them, so each line is anchored and says so:
    Approaches 1 and 2 through Chinchilla (the size Hoffmann et al. chose for Gopher's budget
    from their analysis), Kaplan et al.'s through Gopher (so only its slope is Kaplan's).
    Approach 3 follows exactly from the published parameters: ``G (C / 6) ** a``.
    """
    chinchilla, gopher = notable_model("chinchilla"), notable_model("gopher")
    published = published_laws()
    hoffmann = published["hoffmann2022_approach3"].law
    a3 = hoffmann.exponents["a"]
    rows = []
    for k in (1, 2):
        a = published[f"hoffmann2022_approach{k}"].coefficients["a"]
        rows.append({
            "approach": f"Approach {k}", "variant": "published", "law": f"Approach {k}, Hoffmann et al.",
            "a": a, "c_ref": chinchilla["C"], "n_ref": chinchilla["N"],
            "source": "Hoffmann et al. (2022), Table 2 (exponent)", "value_kind": "exact exponent, anchored line",
            "note": f"Exponent a = {a:g} as published; no prefactor in our table, so the line is drawn "
                    "through Chinchilla (70B parameters, 1.4T tokens).",
        })
    rows.append({
        "approach": "Approach 3", "variant": "published", "law": "Approach 3, Hoffmann et al.",
        "a": a3, "c_ref": REFERENCE_BUDGET, "n_ref": float(hoffmann.n_opt(REFERENCE_BUDGET)),
        "source": "Hoffmann et al. (2022), Section 3.3 (E, A, B, alpha, beta)", "value_kind": "exact",
        "note": f"G (C/6)^a from the published parameters; a = beta/(alpha+beta) = {a3:.3f} "
                "(Table 2 prints 0.46 from unrounded alpha and beta).",
    })
    kaplan_a = published["kaplan2020"].coefficients["a"]
    rows.append({
        "approach": KAPLAN, "variant": "published", "law": KAPLAN,
        "a": kaplan_a, "c_ref": gopher["C"], "n_ref": gopher["N"],
        "source": "Hoffmann et al. (2022), Table 2 (exponent)", "value_kind": "exact exponent, anchored line",
        "note": f"Exponent a = {kaplan_a:g} as published; no prefactor in our table, so the line is drawn "
                "through Gopher: only its slope is Kaplan et al.'s.",
    })
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
        rows.append({
            "approach": APPROACH_LABELS[key], "variant": "fitted here", "law": f"{APPROACH_LABELS[key]}, fitted here",
            "a": law.exponent, "c_ref": law.c_ref, "n_ref": law.n_ref,
            "source": RUNS_SOURCE + f", {fits.n_runs} runs", "value_kind": "fitted (runs are approximate)",
            "note": f"{FIT_DESCRIPTIONS[key]}; a = {law.exponent:.3f} ({LEVEL:.0%} bootstrap interval "
                    f"{low:.3f} to {high:.3f}).",
        })
    return pd.DataFrame(rows)


def all_power_laws(fits: EpochFits) -> pd.DataFrame:
    """Published and fitted laws, ordered by approach (1, 2, 3, Kaplan), published first."""
    laws = pd.concat([published_power_laws(), fitted_power_laws(fits)], ignore_index=True)
    order = {"Approach 1": 0, "Approach 2": 1, "Approach 3": 2}
    laws["_order"] = laws["approach"].map(order).fillna(3) * 2 + (laws["variant"] == "fitted here")
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


def model_optima(fits: EpochFits, laws: pd.DataFrame) -> pd.DataFrame:
    """Each model's budget under each law: one row per (model, law) with ``N_opt`` (parameters),
    ``D_opt = C / (6 N_opt)`` (tokens), ``size_ratio = N / N_opt``, ``tokens_per_parameter``
    (at the optimum) and, for our fits, the bootstrap interval ``N_opt_lo``, ``N_opt_hi``."""
    results = {f"{APPROACH_LABELS[key]}, fitted here": result for key, result in fits.results().items()}
    rows = []
    for model in notable_models().itertuples(index=False):
        for law in laws.to_dict("records"):
            n_opt = n_opt_under(law, model.C)
            low = high = np.nan
            result = results.get(law["law"])
            if result is not None and result.ci:
                low, high = (float(np.asarray(v)) for v in result.n_opt_interval(model.C, level=LEVEL))
            d_opt = tokens_at_budget(model.C, n_opt)
            rows.append({
                "model_id": model.model_id, "model": model.name, "N": model.N, "D": model.D,
                "C": model.C, "law": law["law"], "approach": law["approach"], "variant": law["variant"],
                "N_opt": n_opt, "N_opt_lo": low, "N_opt_hi": high, "D_opt": d_opt,
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
        models: the notable models at their budgets (:func:`analysis.chapters.epoch.notable_models`).
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

    def exponent(self, name: str) -> str:
        """A law's exponent ``a`` to two significant figures."""
        return format_value(self.law(name)["a"], 2)

    def model(self, model_id: str) -> pd.Series:
        """One notable model by id: ``name``, ``N``, ``D``, ``C``, provenance."""
        return self.models.set_index("model_id").loc[model_id].rename(model_id)

    def optimum(self, model_id: str, law: str) -> pd.Series:
        """One row of :attr:`optima` (e.g. ``("gopher", OURS3)``)."""
        match = self.optima[(self.optima["model_id"] == model_id) & (self.optima["law"] == law)]
        if match.empty:
            raise KeyError(f"no optimum for model {model_id!r} under law {law!r}")
        return match.iloc[0]

    def n_opt_interval_text(self, model_id: str, law: str = OURS3) -> str:
        """The bootstrap interval of a model's N_opt under a fitted law: ``"23B–41B"``."""
        row = self.optimum(model_id, law)
        return format_interval(row["N_opt_lo"], row["N_opt_hi"], formatter=lambda v: format_si(v, 2))

    @property
    def least_oversized(self) -> pd.Series:
        """Of the models other than Chinchilla, the one closest to compute-optimal under our Approach 3
        (``name``, ``size_ratio``)."""
        ours = self.optima[(self.optima["law"] == OURS3) & (self.optima["model_id"] != "chinchilla")]
        row = ours.loc[ours["size_ratio"].idxmin()]
        return pd.Series({"name": row["model"], "size_ratio": row["size_ratio"]})

    @property
    def hoffmann_a_range(self) -> tuple[float, float]:
        """Smallest and largest exponent ``a`` of every law but Kaplan et al.'s."""
        values = self.laws.loc[self.laws["approach"] != KAPLAN, "a"]
        return float(values.min()), float(values.max())

    @property
    def table2_a(self) -> float:
        """Approach 3's exponent as printed in Hoffmann et al.'s Table 2."""
        return published_laws()["hoffmann2022_approach3"].coefficients["a"]

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

    def optima_table(self) -> Markdown:
        """:meth:`optima_frame` as a table."""
        return markdown_table(self.optima_frame())

    def optima_frame(self) -> pd.DataFrame:
        """Compute-optimal sizes as text: one column per model (headed by its name), rows for its actual
        size (parameters), its budget ``C = 6ND`` (FLOP) and, per law, ``N_opt`` at that budget with the
        model's size as a multiple of it."""
        models = self.models
        rows = [
            {"Law": "Actual size (parameters)", **{m.name: format_si(m.N, 3) for m in models.itertuples()}},
            {"Law": "Budget C = 6ND (FLOP)", **{m.name: format_power(m.C, 3) for m in models.itertuples()}},
        ]
        for law in self.laws["law"]:
            under = self.optima[self.optima["law"] == law]
            rows.append({"Law": law, **{m.model: f"{format_si(m.N_opt, 2)} ({times(m.size_ratio)})"
                                        for m in under.itertuples()}})
        return pd.DataFrame(rows)

    def exponent_table(self) -> Markdown:
        """:meth:`exponent_frame` as a table."""
        return markdown_table(self.exponent_frame())

    def exponent_frame(self) -> pd.DataFrame:
        """Per approach, as text, the exponent ``a`` of ``N_opt ∝ C^a`` as published (Hoffmann et al.
        2022, Table 2), as fitted here with its bootstrap interval, and our estimator."""
        laws = self.laws.set_index("law")
        published = published_laws()
        rows = []
        for key, result in self.fits.results().items():
            approach = APPROACH_LABELS[key]
            low, high = result.ci.get("a", (np.nan, np.nan))
            rows.append({
                "Approach": approach,
                "a, published": format_value(published[f"hoffmann2022_{approach.lower().replace(' ', '')}"]
                                             .coefficients["a"], 2),
                "a, fitted here": format_value(laws.loc[f"{approach}, fitted here", "a"], 3),
                f"{LEVEL:.0%} interval": format_interval(low, high, 2),
                "Our estimator": EXPONENT_METHODS[key],
            })
        return pd.DataFrame(rows)


def chapter_for(fits: EpochFits) -> ComputeOptimalChapter:
    """Chapter 4's result for a given set of fits (the book's, or a test's with fewer resamples)."""
    laws = all_power_laws(fits)
    return ComputeOptimalChapter(fits, laws, fitted_bands(fits), notable_models(), model_optima(fits, laws))


@functools.cache
def compute_optimal_chapter() -> ComputeOptimalChapter:
    """Chapter 4 (cached) on the book's fits."""
    return chapter_for(epoch_fits())
