"""Chapter-level computations for chapters 4 and 5: the Chinchilla runs, fitted three ways.

The 245 training runs Epoch AI read off Figure 4 of Hoffmann et al. (2022) are fitted once per
process (:func:`epoch_fits`, cached) with the three approaches of the paper:

* Approach 1 analogue -- :class:`analysis.fit.EnvelopeFit` (lowest loss per FLOP range; the
  paper used the per-step training curves, which are not public);
* Approach 2 -- :class:`analysis.fit.IsoFLOPFit` (a parabola per IsoFLOP slice);
* Approach 3 -- :class:`analysis.fit.ParametricLossFit` (Huber loss on log-loss, the 5
  highest-loss runs dropped, as in Besiroglu et al. 2024).

Everything the chapters print is computed here from those fits and the curated tables
(``data/compute_optimal_models.csv``, ``data/scaling_laws.csv``): the laws to draw, the models'
budgets and compute-optimal sizes, the parameter comparison and the residuals. Bootstraps are
seeded, so the book is reproducible; tests pass a small ``n_bootstrap``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.charts.formatting import format_interval, format_power, format_si, format_value
from analysis.charts.parametric_loss import frontier_n_opt, parametric_loss
from analysis.data import load_chinchilla_runs, load_table
from analysis.fit import EnvelopeFit, IsoFLOPFit, ParametricLossFit, TrainingRuns, huber_objective

BOOK_BOOTSTRAP = 1000
"""Bootstrap resamples used by the book (tests use fewer)."""
SEED = 0
LEVEL = 0.95
HUBER_DELTA = 1e-3
EXCLUDE_TOP_LOSS = 5
ISOFLOP_MIN_RUNS = 8
"""The paper's IsoFLOP slices are the budgets with many model sizes; the extracted runs also hold
small clusters (3 to 7 runs) from other experiments, which Approach 2 leaves out."""
FLOP_PER_PARAMETER_TOKEN = 6.0
RUNS_SOURCE = "Epoch AI extraction of Hoffmann et al. (2022), Figure 4"
PARAMETER_NAMES = ("E", "A", "B", "alpha", "beta")

APPROACH_LABELS = {
    "envelope": "Approach 1",
    "isoflop": "Approach 2",
    "parametric": "Approach 3",
}
"""The paper's approach each of our estimators corresponds to."""


@dataclass(frozen=True)
class EpochFits:
    """The Epoch runs and the three fits on them.

    Attributes:
        runs: one row per run: ``N`` (parameters), ``D`` (tokens), ``C`` (FLOP), ``loss``
            (nats/token), ``budget`` (FLOP of the IsoFLOP slice the run belongs to, NaN if none).
        parametric: Approach 3 result (:class:`analysis.fit.ParametricLossFit`).
        isoflop: Approach 2 result (:class:`analysis.fit.IsoFLOPFit`).
        envelope: Approach 1 analogue result (:class:`analysis.fit.EnvelopeFit`).
        n_bootstrap, seed: the bootstrap settings used.
    """

    runs: pd.DataFrame
    parametric: Any
    isoflop: Any
    envelope: Any
    n_bootstrap: int
    seed: int

    def results(self) -> dict[str, Any]:
        """The three results keyed ``envelope``, ``isoflop``, ``parametric``."""
        return {"envelope": self.envelope, "isoflop": self.isoflop, "parametric": self.parametric}


def isoflop_tolerance_dex() -> float:
    """How far (decades of FLOP) a run may lie from its IsoFLOP budget: the estimator's default."""
    return float(IsoFLOPFit().tolerance_dex)


def assign_budgets(runs: pd.DataFrame, budgets: np.ndarray, tolerance_dex: float) -> pd.Series:
    """The IsoFLOP budget (FLOP) each run belongs to: the nearest budget within ``tolerance_dex``
    decades of its compute, NaN for runs in no slice. Shape ``(len(runs),)``."""
    budgets = np.asarray(budgets, dtype=float)
    distance = np.abs(np.log10(runs["C"].to_numpy())[:, None] - np.log10(budgets)[None, :])
    nearest = distance.argmin(axis=1)
    inside = distance[np.arange(len(runs)), nearest] <= tolerance_dex
    return pd.Series(np.where(inside, budgets[nearest], np.nan), index=runs.index, name="budget")


@functools.cache
def epoch_fits(n_bootstrap: int = BOOK_BOOTSTRAP, seed: int = SEED) -> EpochFits:
    """Fit the Epoch runs with all three approaches (cached per process and settings)."""
    frame = load_chinchilla_runs()[["N", "D", "C", "loss"]].reset_index(drop=True)
    runs = TrainingRuns.from_frame(frame, n_col="N", d_col="D", c_col=None, loss_col="loss")
    parametric = ParametricLossFit(
        huber_delta=HUBER_DELTA, exclude_top_loss=EXCLUDE_TOP_LOSS, n_bootstrap=n_bootstrap, seed=seed
    ).fit(runs)
    isoflop = IsoFLOPFit(
        min_runs=ISOFLOP_MIN_RUNS, exclude_top_loss=EXCLUDE_TOP_LOSS, n_bootstrap=n_bootstrap, seed=seed
    ).fit(runs)
    envelope = EnvelopeFit(n_bootstrap=n_bootstrap, seed=seed).fit(runs)
    slices = isoflop.budgets
    frame["budget"] = assign_budgets(
        frame, slices.loc[slices["included"], "C"].to_numpy(), tolerance_dex=isoflop_tolerance_dex()
    )
    return EpochFits(frame, parametric, isoflop, envelope, n_bootstrap, seed)


# ---------------------------------------------------------------------------------------------
# Published numbers.


def notable_models() -> pd.DataFrame:
    """Chinchilla, Gopher, GPT-3 and MT-NLG: ``model_id``, ``name``, ``N`` (parameters), ``D``
    (tokens), ``C = 6 N D`` (FLOP), ``source``, ``source_detail``, ``value_kind``; one row per model,
    ordered by budget."""
    table = load_table("compute_optimal_models")
    names = load_table("models").set_index("model_id")["name"]
    frame = pd.DataFrame(
        {
            "model_id": table["model_id"],
            "name": table["model_id"].map(names),
            "N": table["parameters"].astype(float),
            "D": table["training_tokens"].astype(float),
            "source": table["source"],
            "source_detail": table["source_detail"],
            "value_kind": table["value_kind"],
        }
    )
    frame["C"] = FLOP_PER_PARAMETER_TOKEN * frame["N"] * frame["D"]
    return frame.sort_values("C").reset_index(drop=True)


def model(model_id: str) -> pd.Series:
    """One row of :func:`notable_models` by id (``chinchilla``, ``gopher``, ``gpt-3``, ``mt-nlg-530b``)."""
    models = notable_models()
    match = models[models["model_id"] == model_id]
    if match.empty:
        raise KeyError(f"no model {model_id!r} in compute_optimal_models.csv")
    return match.iloc[0]


def coefficients(law_id: str) -> dict[str, float]:
    """Published coefficients of one law of ``scaling_laws.csv`` (e.g. ``hoffmann2022_approach1``)."""
    table = load_table("scaling_laws")
    rows = table[table["law_id"] == law_id]
    if rows.empty:
        raise KeyError(f"no law {law_id!r} in scaling_laws.csv")
    return {row.coefficient: float(row.value) for row in rows.itertuples(index=False)}


def hoffmann_parameters() -> dict[str, float]:
    """Hoffmann et al. (2022) Approach 3: ``E``, ``A``, ``B``, ``alpha``, ``beta`` as published."""
    values = coefficients("hoffmann2022_approach3")
    return {name: values[name] for name in PARAMETER_NAMES}


def besiroglu_parameters() -> dict[str, float]:
    """Besiroglu et al. (2024) replication: ``E``, ``A``, ``B``, ``alpha``, ``beta`` as published."""
    values = coefficients("besiroglu2024")
    return {name: values[name] for name in PARAMETER_NAMES}


def besiroglu_standard_errors() -> dict[str, float]:
    """Published standard errors of :func:`besiroglu_parameters`."""
    table = load_table("scaling_laws")
    rows = table[table["law_id"] == "besiroglu2024"]
    return {row.coefficient: float(row.std_error) for row in rows.itertuples(index=False)}


# ---------------------------------------------------------------------------------------------
# Chapter 4: laws, models at their budgets.

REFERENCE_BUDGET = 1e21
"""Budget (FLOP) at which fitted laws are pinned: N_opt(C) = n_ref (C / REFERENCE_BUDGET) ** a."""


def published_laws() -> pd.DataFrame:
    """The published laws as power laws ``N_opt = n_ref (C / c_ref) ** a`` (columns as
    :data:`analysis.charts.compute_optimal.LAW_COLUMNS`).

    Approaches 1 and 2 and Kaplan et al. are published as exponents only (Hoffmann et al. 2022,
    Table 2); our table holds no prefactor for them, so each line is anchored and says so:
    Approaches 1 and 2 through Chinchilla (the size Hoffmann et al. chose for Gopher's budget
    from their analysis), Kaplan et al.'s through Gopher (so only its slope is Kaplan's).
    Approach 3 follows exactly from the published parameters: ``G (C / 6) ** a``.
    """
    chinchilla, gopher = model("chinchilla"), model("gopher")
    hoffmann = hoffmann_parameters()
    a3 = hoffmann["beta"] / (hoffmann["alpha"] + hoffmann["beta"])
    rows = []
    for k in (1, 2):
        a = coefficients(f"hoffmann2022_approach{k}")["a"]
        rows.append({
            "approach": f"Approach {k}", "variant": "published", "law": f"Approach {k}, Hoffmann et al.",
            "a": a, "c_ref": chinchilla["C"], "n_ref": chinchilla["N"],
            "source": "Hoffmann et al. (2022), Table 2 (exponent)", "value_kind": "exact exponent, anchored line",
            "note": f"Exponent a = {a:g} as published; no prefactor in our table, so the line is drawn "
                    "through Chinchilla (70B parameters, 1.4T tokens).",
        })
    rows.append({
        "approach": "Approach 3", "variant": "published", "law": "Approach 3, Hoffmann et al.",
        "a": a3, "c_ref": REFERENCE_BUDGET, "n_ref": float(frontier_n_opt(hoffmann, REFERENCE_BUDGET)),
        "source": "Hoffmann et al. (2022), Section 3.3 (E, A, B, alpha, beta)", "value_kind": "exact",
        "note": f"G (C/6)^a from the published parameters; a = beta/(alpha+beta) = {a3:.3f} "
                "(Table 2 prints 0.46 from unrounded alpha and beta).",
    })
    kaplan_a = coefficients("kaplan2020")["a"]
    rows.append({
        "approach": "Kaplan et al. (2020)", "variant": "published", "law": "Kaplan et al. (2020)",
        "a": kaplan_a, "c_ref": gopher["C"], "n_ref": gopher["N"],
        "source": "Hoffmann et al. (2022), Table 2 (exponent)", "value_kind": "exact exponent, anchored line",
        "note": f"Exponent a = {kaplan_a:g} as published; no prefactor in our table, so the line is drawn "
                "through Gopher: only its slope is Kaplan et al.'s.",
    })
    return pd.DataFrame(rows)


def _power_law_of(result: Any) -> tuple[float, float]:
    """(a, n_ref at REFERENCE_BUDGET) of a result's N_opt(C), checked to be a pure power law."""
    a = float(result.exponents["a"])
    n_ref = float(np.asarray(result.n_opt(REFERENCE_BUDGET)))
    far = float(np.asarray(result.n_opt(1e25)))
    if not np.isclose(far, n_ref * (1e25 / REFERENCE_BUDGET) ** a, rtol=1e-6):
        raise ValueError(f"{type(result).__name__}.n_opt is not the power law of its exponent a")
    return a, n_ref


def fitted_laws(fits: EpochFits) -> pd.DataFrame:
    """Our three fits as power laws (columns as :func:`published_laws`)."""
    descriptions = {
        "envelope": "lowest final loss per FLOP range (Approach 1 analogue: the per-step curves are not public)",
        "isoflop": f"a parabola in log N per IsoFLOP slice (budgets with {ISOFLOP_MIN_RUNS} or more runs), "
                   "then N_opt ∝ C^a",
        "parametric": "L(N, D) fitted with a Huber loss on log-loss, 5 highest losses dropped",
    }
    rows = []
    for key, result in fits.results().items():
        a, n_ref = _power_law_of(result)
        low, high = result.ci.get("a", (np.nan, np.nan))
        rows.append({
            "approach": APPROACH_LABELS[key], "variant": "fitted here", "law": f"{APPROACH_LABELS[key]}, fitted here",
            "a": a, "c_ref": REFERENCE_BUDGET, "n_ref": n_ref,
            "source": RUNS_SOURCE + f", {len(fits.runs)} runs", "value_kind": "fitted (runs are approximate)",
            "note": f"{descriptions[key]}; a = {a:.3f} ({LEVEL:.0%} bootstrap interval {low:.3f} to {high:.3f}).",
        })
    return pd.DataFrame(rows)


def all_laws(fits: EpochFits) -> pd.DataFrame:
    """Published and fitted laws, ordered by approach (1, 2, 3, Kaplan), published first."""
    laws = pd.concat([published_laws(), fitted_laws(fits)], ignore_index=True)
    order = {"Approach 1": 0, "Approach 2": 1, "Approach 3": 2}
    laws["_order"] = laws["approach"].map(order).fillna(3) * 2 + (laws["variant"] == "fitted here")
    return laws.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def fitted_bands(fits: EpochFits, c_range: tuple[float, float] = (1e17, 1e26), points: int = 40) -> pd.DataFrame:
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
    """Compute-optimal parameters at ``budget`` (FLOP) under one row of :func:`all_laws`."""
    return float(law["n_ref"] * (budget / law["c_ref"]) ** law["a"])


def model_optima(fits: EpochFits) -> pd.DataFrame:
    """Each model's budget under each law: one row per (model, law) with ``N_opt`` (parameters),
    ``D_opt = C / (6 N_opt)`` (tokens), ``size_ratio = N / N_opt``, ``tokens_per_parameter``
    (at the optimum) and, for our fits, the bootstrap interval ``N_opt_lo``, ``N_opt_hi``."""
    laws = all_laws(fits)
    results = {f"{APPROACH_LABELS[key]}, fitted here": result for key, result in fits.results().items()}
    rows = []
    for model_row in notable_models().itertuples(index=False):
        for law in laws.to_dict("records"):
            n_opt = n_opt_under(law, model_row.C)
            low = high = np.nan
            result = results.get(law["law"])
            if result is not None and result.ci:
                low, high = (float(np.asarray(v)) for v in result.n_opt_interval(model_row.C, level=LEVEL))
            d_opt = model_row.C / (FLOP_PER_PARAMETER_TOKEN * n_opt)
            rows.append({
                "model_id": model_row.model_id, "model": model_row.name, "N": model_row.N, "D": model_row.D,
                "C": model_row.C, "law": law["law"], "approach": law["approach"], "variant": law["variant"],
                "N_opt": n_opt, "N_opt_lo": low, "N_opt_hi": high, "D_opt": d_opt,
                "size_ratio": model_row.N / n_opt, "tokens_per_parameter": d_opt / n_opt,
            })
    return pd.DataFrame(rows)


def optimum(fits: EpochFits, model_id: str, law: str) -> pd.Series:
    """One row of :func:`model_optima` (e.g. ``("gopher", "Approach 3, fitted here")``)."""
    table = model_optima(fits)
    match = table[(table["model_id"] == model_id) & (table["law"] == law)]
    if match.empty:
        raise KeyError(f"no optimum for model {model_id!r} under law {law!r}")
    return match.iloc[0]


# ---------------------------------------------------------------------------------------------
# Chapter 5: parameters compared, residuals.

PARAMETER_SETS = ("Hoffmann et al. (2022)", "Besiroglu et al. (2024)", "Fitted here")


def parameter_sets(fits: EpochFits) -> dict[str, dict[str, float]]:
    """The three parameter sets of L(N, D): published, replication, ours."""
    return {
        PARAMETER_SETS[0]: hoffmann_parameters(),
        PARAMETER_SETS[1]: besiroglu_parameters(),
        PARAMETER_SETS[2]: dict(fits.parametric.params),
    }


def parameter_comparison(fits: EpochFits) -> pd.DataFrame:
    """One row per parameter (E, A, B, alpha, beta, a, b): published value (Hoffmann), the
    replication's estimate and standard error (Besiroglu), ours with its bootstrap interval."""
    hoffmann, besiroglu = hoffmann_parameters(), besiroglu_parameters()
    errors = besiroglu_standard_errors()
    ours = dict(fits.parametric.params)
    rows = []
    for name in (*PARAMETER_NAMES, "a", "b"):
        if name in PARAMETER_NAMES:
            values = (hoffmann[name], besiroglu[name], ours[name])
        else:
            values = tuple(_exponent(p, name) for p in (hoffmann, besiroglu, ours))
        low, high = fits.parametric.ci.get(name, (np.nan, np.nan))
        rows.append({
            "parameter": name, "hoffmann": values[0], "besiroglu": values[1],
            "besiroglu_se": errors.get(name, np.nan), "ours": values[2], "ours_lo": low, "ours_hi": high,
        })
    return pd.DataFrame(rows)


def _exponent(params: Mapping[str, float], name: str) -> float:
    alpha, beta = params["alpha"], params["beta"]
    return beta / (alpha + beta) if name == "a" else alpha / (alpha + beta)


def fitted_mask(runs: pd.DataFrame, exclude_top_loss: int = EXCLUDE_TOP_LOSS) -> np.ndarray:
    """Boolean mask, shape ``(len(runs),)``: the runs the parametric fit uses (all but the
    ``exclude_top_loss`` highest losses)."""
    rank = runs["loss"].rank(method="first", ascending=False).to_numpy()
    return rank > exclude_top_loss


def residual_frame(fits: EpochFits) -> pd.DataFrame:
    """One row per (run, parameter set) for :func:`analysis.charts.parametric_loss.residual_chart`:
    ``fit``, ``N``, ``C``, ``loss``, ``predicted``, ``residual = log(loss) - log(predicted)``,
    ``source``, ``used`` (whether the parametric fit uses the run)."""
    sources = {
        PARAMETER_SETS[0]: "Hoffmann et al. (2022), Section 3.3",
        PARAMETER_SETS[1]: "Besiroglu et al. (2024), Table 1",
        PARAMETER_SETS[2]: "this book's fit",
    }
    runs, used = fits.runs, fitted_mask(fits.runs)
    frames = []
    for name, params in parameter_sets(fits).items():
        predicted = parametric_loss(params, runs["N"].to_numpy(), runs["D"].to_numpy())
        frames.append(pd.DataFrame({
            "fit": name, "N": runs["N"], "D": runs["D"], "C": runs["C"], "loss": runs["loss"],
            "predicted": predicted, "residual": np.log(runs["loss"].to_numpy()) - np.log(predicted),
            "source": sources[name], "used": used,
        }))
    return pd.concat(frames, ignore_index=True)


def residual_summary(fits: EpochFits) -> pd.DataFrame:
    """How well each parameter set fits the runs the fit uses: one row per set with
    ``huber`` (mean Huber loss, delta 1e-3, the fitting objective), ``rms_percent`` (root mean
    square of the log residual, in percent), ``median_percent`` (median of observed/predicted - 1,
    percent) and ``share_overpredicted`` (fraction of runs whose loss is below the prediction)."""
    frame = residual_frame(fits)
    used = frame[frame["used"]]
    runs = fits.runs[fitted_mask(fits.runs)]
    training_runs = TrainingRuns.from_frame(runs, n_col="N", d_col="D", c_col=None, loss_col="loss")
    rows = []
    for name, params in parameter_sets(fits).items():
        group = used[used["fit"] == name]
        rows.append({
            "fit": name,
            "huber": huber_objective(params, training_runs, huber_delta=HUBER_DELTA),
            "rms_percent": 100 * float(np.sqrt(np.mean(group["residual"] ** 2))),
            "median_percent": 100 * float(np.median(np.expm1(group["residual"]))),
            "share_overpredicted": float(np.mean(group["residual"] < 0)),
            "n_runs": len(group),
        })
    return pd.DataFrame(rows)


def gopher_slice(fits: EpochFits) -> dict[str, float]:
    """Gopher's budget under our Approach 3 fit: ``C`` (FLOP), ``N`` (Gopher's parameters),
    ``N_opt`` with ``N_opt_lo``/``N_opt_hi`` (parameters), ``loss_at_N`` and ``loss_at_opt``
    (fitted loss, nats/token) and ``size_ratio = N / N_opt``."""
    gopher = model("gopher")
    result = fits.parametric
    n_opt = float(np.asarray(result.n_opt(gopher["C"])))
    low, high = (float(np.asarray(v)) for v in result.n_opt_interval(gopher["C"], level=LEVEL)) if result.ci else (np.nan, np.nan)
    tokens = gopher["C"] / (FLOP_PER_PARAMETER_TOKEN * np.array([gopher["N"], n_opt]))
    losses = np.asarray(result.loss(np.array([gopher["N"], n_opt]), tokens), dtype=float)
    return {
        "C": float(gopher["C"]), "N": float(gopher["N"]), "N_opt": n_opt, "N_opt_lo": low, "N_opt_hi": high,
        "loss_at_N": float(losses[0]), "loss_at_opt": float(losses[1]), "size_ratio": float(gopher["N"] / n_opt),
    }


# ---------------------------------------------------------------------------------------------
# Display tables (text cells, ready for :func:`analysis.tables.markdown_table`).


def _times(value: float) -> str:
    return format_value(value, 2) + "×"


def optima_table(fits: EpochFits) -> pd.DataFrame:
    """Chapter 4's table of compute-optimal sizes: one column per model (headed by its name),
    rows for its actual size (parameters), its budget ``C = 6ND`` (FLOP) and, per law of
    :func:`all_laws`, ``N_opt`` at that budget with the model's size as a multiple of it."""
    models = notable_models()
    optima = model_optima(fits)
    rows = [
        {"Law": "Actual size (parameters)", **{m.name: format_si(m.N, 3) for m in models.itertuples()}},
        {"Law": "Budget C = 6ND (FLOP)", **{m.name: format_power(m.C, 3) for m in models.itertuples()}},
    ]
    for law in all_laws(fits)["law"]:
        under = optima[optima["law"] == law]
        rows.append({"Law": law, **{m.model: f"{format_si(m.N_opt, 2)} ({_times(m.size_ratio)})" for m in under.itertuples()}})
    return pd.DataFrame(rows)


EXPONENT_METHODS = {
    "envelope": "lowest final loss per FLOP range (analogue)",
    "isoflop": f"parabola per IsoFLOP slice ({ISOFLOP_MIN_RUNS}+ runs each)",
    "parametric": f"L(N, D), Huber loss, {EXCLUDE_TOP_LOSS} highest losses dropped",
}


def exponent_table(fits: EpochFits) -> pd.DataFrame:
    """Chapter 4's exponent table: per approach the exponent ``a`` of ``N_opt ∝ C^a`` as published
    (Hoffmann et al. 2022, Table 2), as fitted here with its bootstrap interval, and our estimator."""
    laws = all_laws(fits).set_index("law")
    rows = []
    for key, result in fits.results().items():
        approach = APPROACH_LABELS[key]
        published = coefficients(f"hoffmann2022_{approach.lower().replace(' ', '')}")["a"]
        low, high = result.ci.get("a", (np.nan, np.nan))
        rows.append({
            "Approach": approach,
            "a, published": format_value(published, 2),
            "a, fitted here": format_value(laws.loc[f"{approach}, fitted here", "a"], 3),
            f"{LEVEL:.0%} interval": format_interval(low, high, 2),
            "Our estimator": EXPONENT_METHODS[key],
        })
    return pd.DataFrame(rows)


def parameter_table(fits: EpochFits, digits: int = 4) -> pd.DataFrame:
    """Chapter 5's parameter table: one row per parameter of :func:`parameter_comparison`, as
    published, as replicated (± standard error) and fitted here (bootstrap interval), as text."""
    symbols = {"alpha": "α", "beta": "β"}
    rows = []
    for row in parameter_comparison(fits).itertuples():
        replicated = format_value(row.besiroglu, digits)
        if np.isfinite(row.besiroglu_se):
            replicated += f" ± {format_value(row.besiroglu_se, 2)}"
        rows.append({
            "Parameter": symbols.get(row.parameter, row.parameter),
            PARAMETER_SETS[0]: format_value(row.hoffmann, digits),
            PARAMETER_SETS[1]: replicated,
            PARAMETER_SETS[2]: f"{format_value(row.ours, digits)} ({format_interval(row.ours_lo, row.ours_hi, 3)})",
        })
    return pd.DataFrame(rows)
