"""What the chapters of a generated report call: every number, table and chart comes from here.

A chapter starts with ``report = load_report()``; that reads ``report.yml`` and the runs table
beside it, validates the runs exactly as ``atlas fit`` does, and fits lazily: the parametric
loss (Approach 3), IsoFLOP profiles (Approach 2) and the lower envelope (Approach 1 analogue),
each only when a chapter first asks for it. A fit the data cannot support is *declined*: the
outcome then carries a plain-language reason instead of a result, and the tables and sentences
say so rather than print a number that means nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.charts import parametric_loss
from analysis.errors import AtlasError
from analysis.fit import EnvelopeFit, IsoFLOPFit, ParametricLossFit, TrainingRuns, detect_budgets
from analysis.report.formatting import MISSING, count, count_interval, interval, latex_number, number, power_of_ten
from analysis.report.settings import SETTINGS_FILE, ReportSettings, read_runs
from analysis.tables import markdown_table

ResultT = TypeVar("ResultT")

NO_MARKERS = pd.DataFrame(columns=["name", "N", "C", "source", "value_kind"]).astype({"N": float, "C": float})
"""The chapter-5 charts can mark named models; a report on someone's own runs marks none."""

WIDE_INTERVAL_RUNS = 30
"""Below this many fitted runs the report warns that five parameters are barely constrained."""

SINGLE_BUDGET_DEX = 0.1
"""Runs whose compute spans less than this (in log10 FLOP) are treated as a single budget."""

EXTRAPOLATION_DECADES = 2
"""How many decades of compute beyond the largest run the allocation table reaches."""

THIS_FIT = "This report"
"""Label of the report's own parametric fit in tables and charts."""


@dataclass(frozen=True)
class PublishedLaw:
    """A published ``L(N, D) = E + A / N^alpha + B / D^beta`` from the ``scaling_laws`` table."""

    law_id: str
    label: str
    description: str
    """The study and method, e.g. ``Hoffmann et al. (2022) Approach 3``."""
    params: dict[str, float]
    std_errors: dict[str, float]
    source: str
    source_detail: str

    @property
    def exponents(self) -> dict[str, float]:
        """``a = beta / (alpha + beta)`` and ``b = alpha / (alpha + beta)`` of the published parameters."""
        total = self.params["alpha"] + self.params["beta"]
        return {"a": self.params["beta"] / total, "b": self.params["alpha"] / total}

    @property
    def citation(self) -> str:
        """Source key and location, e.g. ``besiroglu2024replication, Table 1``."""
        return f"{self.source}, {self.source_detail}"


PARAMETER_NAMES = ("E", "A", "B", "alpha", "beta")


def published_parametric_laws(table: pd.DataFrame) -> dict[str, PublishedLaw]:
    """The laws of a ``scaling_laws`` table (long format) that give all five parameters.

    Args:
        table: rows ``law_id, approach, coefficient, value, std_error, source, source_detail``.
    """
    laws = {}
    for law_id, rows in table.groupby("law_id", sort=False):
        coefficients = rows.set_index("coefficient")
        if not set(PARAMETER_NAMES) <= set(coefficients.index):
            continue
        parameters = coefficients.loc[list(PARAMETER_NAMES)]
        laws[str(law_id)] = PublishedLaw(
            law_id=str(law_id),
            label=_short_label(str(rows["approach"].iloc[0])),
            description=str(rows["approach"].iloc[0]).split(":")[0],
            params={name: float(parameters.at[name, "value"]) for name in PARAMETER_NAMES},
            std_errors={name: float(parameters.at[name, "std_error"]) for name in PARAMETER_NAMES
                        if pd.notna(parameters.at[name, "std_error"])},
            source=str(parameters["source"].iloc[0]),
            source_detail=str(parameters["source_detail"].iloc[0]),
        )
    return laws


def numbers_table(frame: pd.DataFrame, text_columns: tuple[str, ...]) -> Markdown:
    """A Markdown table of preformatted cells: numbers right-aligned, ``text_columns`` left."""
    return markdown_table(frame, align={c: "left" if c in text_columns else "right" for c in frame.columns})


def _short_label(approach: str) -> str:
    """``Hoffmann et al. (2022) Approach 3: ...`` -> ``Hoffmann et al. (2022)``: authors and year."""
    match = re.match(r"^.*?\(\d{4}\)", approach)
    return match.group(0) if match else approach.split(":")[0]


def law_loss(params: Mapping[str, float], N: np.ndarray, D: np.ndarray) -> np.ndarray:
    """``E + A / N^alpha + B / D^beta`` in nats/token for N parameters and D tokens."""
    return params["E"] + params["A"] / np.asarray(N, float) ** params["alpha"] + params["B"] / np.asarray(D, float) ** params["beta"]


def _law_row(label: str, where: str, values: Mapping[str, float], errors: Mapping[str, float], rms: float) -> dict[str, str]:
    row = {"Law": label, "Source": where}
    for name, header in (("E", "E"), ("A", "A"), ("B", "B"), ("alpha", "α"), ("beta", "β"), ("a", "a"), ("b", "b")):
        row[header] = number(values[name]) + (f" ± {number(errors[name], 2)}" if name in errors else "")
    row["RMS log-loss residual"] = number(rms)
    return row


@dataclass(frozen=True)
class FitOutcome(Generic[ResultT]):
    """A fit's result, or the reason it was declined (exactly one of the two is set)."""

    result: ResultT | None
    reason: str | None = None
    budgets: pd.DataFrame | None = None
    """Per-budget rows (``C, n_runs, N_opt, D_opt, loss_opt, included, reason``) of a declined
    IsoFLOP fit, when the estimator's error carries them; a result has its own."""

    @property
    def available(self) -> bool:
        """Whether the fit produced a result."""
        return self.result is not None


NUMERICAL_FAILURES = (ValueError, ArithmeticError, np.linalg.LinAlgError)
"""Errors numpy and scipy raise on data a fit cannot use (empty selections, singular systems)."""


def attempt(fit: Callable[[], ResultT]) -> FitOutcome[ResultT]:
    """Run ``fit``; a failure caused by the data declines it instead of failing the report.

    An :class:`AtlasError` (too few runs, a single budget, ...) gives its own message as the
    reason; a numerical failure inside the estimator (see :data:`NUMERICAL_FAILURES`) is
    declined too, naming the error, since no runs table should stop the report from rendering.
    """
    try:
        return FitOutcome(fit())
    except AtlasError as error:
        return FitOutcome(None, str(error).rstrip("."), budgets=getattr(error, "budgets", None))
    except NUMERICAL_FAILURES as error:
        return FitOutcome(None, f"the fit failed numerically on these runs ({type(error).__name__}: {error})")


def converged_only(subject: str, fit: Any, succeeded: str) -> str:
    """Sentences saying that ``subject`` (some intervals) rest only on the bootstrap refits that worked.

    Args:
        subject: what the intervals are, e.g. ``"The intervals"``.
        fit: a result with ``n_bootstrap`` and ``n_bootstrap_failed`` (resamples).
        succeeded: what a refit that worked did, e.g. ``"converged"``.
    """
    kept = fit.n_bootstrap - fit.n_bootstrap_failed
    return (
        f"{subject} therefore come only from the {kept} of {fit.n_bootstrap} bootstrap refits that "
        f"{succeeded}, and may be too narrow: refits fail most on the resamples that constrain the "
        "fit least, and those are missing from the intervals."
    )


def load_report(settings_path: str | Path = SETTINGS_FILE) -> Report:
    """Read a report's settings and runs (paths in the settings are relative to its folder)."""
    settings_path = Path(settings_path)
    settings = ReportSettings.read(settings_path)
    return Report(settings, settings_path.parent)


class Report:
    """The runs of one report and the fits, tables, sentences and charts its chapters show.

    Args:
        settings: column mapping and fitting options.
        root: the report folder, against which ``settings.runs`` is resolved.
    """

    def __init__(self, settings: ReportSettings, root: str | Path = ".") -> None:
        self.settings = settings
        self.root = Path(root)
        self.runs: TrainingRuns = read_runs(settings, self.root / settings.runs)
        """All runs of the table, validated (arrays of shape ``(n_runs,)``)."""

    # -- fits --------------------------------------------------------------------------------

    @cached_property
    def fitted_runs(self) -> TrainingRuns:
        """The runs every fit uses: all of them minus the excluded highest losses."""
        return self.runs.exclude_top_loss(self.settings.exclude_top_loss)

    @cached_property
    def parametric(self) -> FitOutcome[Any]:
        """Approach 3: L(N, D) = E + A / N^alpha + B / D^beta, with bootstrap intervals."""
        estimator = ParametricLossFit(**self._fit_options())
        outcome = attempt(lambda: estimator.fit(self.runs))
        if outcome.available:
            falling = {"α": outcome.result.params["alpha"], "β": outcome.result.params["beta"]}
            bad = [f"{name} = {number(value)}" for name, value in falling.items() if not value > 0]
            if bad:
                # With a non-positive exponent loss no longer falls with size or data, so the law
                # has no compute-optimal allocation (N_opt would be complex or unbounded).
                return FitOutcome(None, f"the best fit has a non-positive exponent ({', '.join(bad)}): "
                                        "loss does not fall with both model size and data in these runs")
        return outcome

    @cached_property
    def isoflop(self) -> FitOutcome[Any]:
        """Approach 2: a parabola per FLOP budget, then N_opt and D_opt as powers of C."""
        estimator = IsoFLOPFit(**self._fit_options())
        return attempt(lambda: estimator.fit(self.runs))

    @cached_property
    def envelope(self) -> FitOutcome[Any]:
        """Approach 1 analogue: the lowest loss per FLOP range and the size that reached it."""
        estimator = EnvelopeFit(**self._fit_options())
        return attempt(lambda: estimator.fit(self.runs))

    def _fit_options(self) -> dict[str, Any]:
        return {
            "exclude_top_loss": self.settings.exclude_top_loss,
            "n_bootstrap": self.settings.bootstrap,
            "seed": self.settings.seed,
            "level": self.settings.level,
        }

    # -- settings ----------------------------------------------------------------------------

    def settings_table(self) -> Markdown:
        """The settings of ``report.yml``, one row each, with what they mean."""
        s = self.settings
        rows = [
            ("runs", s.runs, "table of training runs, one row per run"),
            ("n_col", s.n_col, "column with model size N (parameters)"),
            ("d_col", s.d_col or "(none)", "column with training tokens D"),
            ("c_col", s.c_col or "(none)", "column with training compute C (FLOP)"),
            ("loss_col", s.loss_col, "column with the final loss (nats/token)"),
            ("exclude_top_loss", str(s.exclude_top_loss), "highest-loss runs left out of every fit"),
            ("bootstrap", str(s.bootstrap), "bootstrap resamples of the runs for the intervals"),
            ("seed", str(s.seed), "seed of the bootstrap"),
            ("level", f"{s.level:g}", "coverage of the percentile intervals"),
        ]
        return markdown_table(pd.DataFrame(rows, columns=["Setting", "Value", "Meaning"]))

    # -- the data ----------------------------------------------------------------------------

    @property
    def n_runs(self) -> int:
        """Number of runs in the table."""
        return len(self.runs)

    @cached_property
    def detected_budgets(self) -> tuple[np.ndarray, np.ndarray]:
        """FLOP budgets found in the fitted runs as the IsoFLOP fit finds them.

        Returns ``(budgets, labels)``: budget centres in FLOP, shape ``(k,)``, and for each
        fitted run the index of its budget or -1, shape ``(n,)``.
        """
        return detect_budgets(self.fitted_runs.C)

    def run_budgets(self) -> np.ndarray:
        """The FLOP budget of each fitted run, NaN for runs in no budget, shape ``(n,)``."""
        budgets, labels = self.detected_budgets
        return np.where(labels >= 0, budgets[np.maximum(labels, 0)] if budgets.size else np.nan, np.nan)

    def data_table(self) -> Markdown:
        """Range of every quantity over the runs: minimum, median and maximum, with units."""
        runs = self.runs
        quantities = [
            ("Model size N", "parameters", runs.N, count),
            ("Training tokens D", "tokens", runs.D, count),
            ("Training compute C = 6ND", "FLOP", runs.C, number),
            ("Tokens per parameter D/N", "tokens/parameter", runs.D / runs.N, number),
            ("Final loss", "nats/token", runs.loss, number),
        ]
        frame = pd.DataFrame(
            [
                {
                    "Quantity": name,
                    "Unit": unit,
                    "Minimum": show(float(np.min(values))),
                    "Median": show(float(np.median(values))),
                    "Maximum": show(float(np.max(values))),
                }
                for name, unit, values, show in quantities
            ]
        )
        return numbers_table(frame, text_columns=("Quantity", "Unit"))

    def budget_sentence(self) -> str:
        """One sentence on the FLOP budgets detected in the runs, and what the IsoFLOP fit used."""
        budgets, labels = self.detected_budgets
        in_budgets = int((labels >= 0).sum())
        if budgets.size == 0:
            found = "No FLOP budget was detected: no group of runs shares the same training compute."
        elif budgets.size == 1:
            found = (f"The runs share a single FLOP budget, {number(float(budgets[0]))} FLOP "
                     f"({in_budgets} of {len(labels)} runs).")
        else:
            found = (f"{in_budgets} of the {len(labels)} fitted runs fall into {budgets.size} FLOP budgets, "
                     f"from {number(float(budgets.min()))} to {number(float(budgets.max()))} FLOP.")
        per_budget = self.isoflop_budgets()
        if not self.isoflop.available:
            if per_budget is not None:
                usable = int(per_budget["included"].sum())
                return (f"{found} {usable} of them can be used (the table below gives each budget's reason), "
                        "and IsoFLOP profiles need at least two, so they are absent.")
            return f"{found} IsoFLOP profiles are therefore absent: {self.isoflop.reason}."
        used = int(per_budget["included"].sum())
        return (f"{found} {used} of them have enough runs, with a loss minimum inside the sizes "
                "they sampled, to enter the IsoFLOP fit.")

    def isoflop_budgets(self) -> pd.DataFrame | None:
        """Each budget's IsoFLOP row (``C, n_runs, N_opt, D_opt, loss_opt, included, reason``),
        from the result or a declined fit's error; ``None`` when the fit stopped before judging them."""
        outcome = self.isoflop
        return outcome.result.budgets if outcome.available else outcome.budgets

    def budget_table(self) -> Markdown:
        """Each detected FLOP budget: its runs, the IsoFLOP optimum, or why it was left out.

        The status of every row is that budget's own; when the fit was declined before judging
        single budgets, the rows say so and the sentence above gives the reason once.
        """
        budgets = self.isoflop_budgets()
        if budgets is not None:
            used = ["yes" if included else f"no: {reason}"
                    for included, reason in zip(budgets["included"], budgets["reason"], strict=True)]
        else:
            centres, labels = self.detected_budgets
            budgets = pd.DataFrame({
                "C": centres if centres.size else [math.nan],
                "n_runs": [int((labels == k).sum()) for k in range(centres.size)] or [0],
                "N_opt": math.nan, "D_opt": math.nan, "loss_opt": math.nan,
            })
            used = ["not assessed: the IsoFLOP fit was declined (see above)"] * len(budgets)
        frame = pd.DataFrame(
            {
                "Budget C (FLOP)": [number(c) if math.isfinite(c) else "none found" for c in budgets["C"]],
                "Runs": budgets["n_runs"].astype(int).astype(str),
                "N_opt (parameters)": [count(v) for v in budgets["N_opt"]],
                "D_opt (tokens)": [count(v) for v in budgets["D_opt"]],
                "Loss at N_opt": [number(v) for v in budgets["loss_opt"]],
                "Used": used,
            }
        )
        return numbers_table(frame, text_columns=("Used",))

    # -- the parametric fit ------------------------------------------------------------------

    def exclusion_sentence(self) -> str:
        """Which runs the parametric fit leaves out, as a sentence."""
        k = self.settings.exclude_top_loss
        if k == 0:
            return "All runs enter the fits."
        return (
            f"The {k} highest-loss runs are left out of every fit (exclude_top_loss: {k} in "
            f"report.yml), leaving {len(self.fitted_runs)} runs."
        )

    def parametric_summary(self) -> Markdown:
        """The fitted law as an equation with its diagnostics, or why there is none."""
        outcome = self.parametric
        if not outcome.available:
            return Markdown(f"**The parametric fit was declined:** {outcome.reason}.")
        fit = outcome.result
        p = fit.params
        lines = [
            f"Fitted to {fit.n_points} runs, the law is",
            "",
            "$$",
            f"L(N, D) = {latex_number(p['E'])} + \\frac{{{latex_number(p['A'])}}}{{N^{{{latex_number(p['alpha'])}}}}}"
            f" + \\frac{{{latex_number(p['B'])}}}{{D^{{{latex_number(p['beta'])}}}}}",
            "$$",
            "",
            f"with N in parameters, D in tokens and L in nats/token. The optimiser started from "
            f"{fit.n_starts} points, {fit.n_best_basin} of which reached the best optimum "
            f"(mean Huber loss {number(fit.objective)}).",
        ]
        if fit.n_bootstrap:
            lines.append(
                f"The intervals come from {fit.n_bootstrap} bootstrap resamples (seed {fit.seed})."
            )
        else:
            lines.append("No bootstrap was requested (bootstrap: 0 in report.yml), so there are no intervals.")
        for warning in fit.warnings:
            lines += ["", f"**Warning:** {warning}."]
        if fit.n_bootstrap_failed:
            lines += ["", converged_only("The intervals", fit, "converged")]
        if np.ptp(np.log10(self.fitted_runs.C)) < SINGLE_BUDGET_DEX:
            lines += [
                "",
                "**Single budget:** every run used about the same compute, so N and D are tied by "
                "C = 6ND and the fit cannot tell the size term from the data term; expect very wide "
                "intervals, and extrapolation to other budgets is guesswork.",
            ]
        if fit.n_points < WIDE_INTERVAL_RUNS:
            lines += [
                "",
                f"**Few runs:** {fit.n_points} runs barely constrain five parameters; "
                "expect wide intervals and read the estimates as rough.",
            ]
        return Markdown("\n".join(lines))

    def parameter_table(self) -> Markdown:
        """Fitted parameters and exponents with their bootstrap intervals."""
        rows = [
            ("E", "irreducible loss, nats/token", "E"),
            ("A", "size term coefficient", "A"),
            ("B", "data term coefficient", "B"),
            ("α", "size exponent", "alpha"),
            ("β", "data exponent", "beta"),
            ("a = β/(α+β)", "N_opt ∝ C^a", "a"),
            ("b = α/(α+β)", "D_opt ∝ C^b", "b"),
        ]
        fit = self.parametric.result
        values = {**fit.params, **fit.exponents} if fit is not None else {}
        ci = fit.ci if fit is not None else {}
        frame = pd.DataFrame(
            [
                {
                    "Parameter": symbol,
                    "Meaning": meaning,
                    "Estimate": number(values.get(key, math.nan)),
                    f"{self.level_percent} interval": interval(ci.get(key)),
                }
                for symbol, meaning, key in rows
            ]
        )
        return numbers_table(frame, text_columns=("Parameter", "Meaning"))

    @property
    def level_percent(self) -> str:
        """The interval level as a label, e.g. ``95%``."""
        return f"{self.settings.level * 100:g}%"

    # -- exponents from the three approaches -------------------------------------------------

    def exponent_table(self) -> Markdown:
        """N_opt ∝ C^a and D_opt ∝ C^b from each approach, with intervals or the reason for none."""
        approaches = [
            ("Parametric loss (Approach 3)", self.parametric),
            ("IsoFLOP profiles (Approach 2)", self.isoflop),
            ("Lower envelope (Approach 1 analogue)", self.envelope),
        ]
        records = []
        for name, outcome in approaches:
            fit = outcome.result
            exponents = fit.exponents if fit is not None else {}
            ci = fit.ci if fit is not None else {}
            records.append(
                {
                    "Approach": name,
                    "a": number(exponents.get("a", math.nan)),
                    f"a, {self.level_percent} interval": interval(ci.get("a")),
                    "b": number(exponents.get("b", math.nan)),
                    f"b, {self.level_percent} interval": interval(ci.get("b")),
                    "Note": "" if fit is not None else f"declined: {outcome.reason}",
                }
            )
        return numbers_table(pd.DataFrame(records), text_columns=("Approach", "Note"))

    def approaches_summary(self) -> Markdown:
        """What the IsoFLOP and envelope fits found, or plainly why they could not be made."""
        parts = []
        absent = {}
        for name, outcome in (("IsoFLOP", self.isoflop), ("lower-envelope", self.envelope)):
            if outcome.available:
                exponents = outcome.result.exponents
                parts.append(
                    f"The {name} fit gives $N_{{opt}} \\propto C^{{{number(exponents['a'])}}}$ and "
                    f"$D_{{opt}} \\propto C^{{{number(exponents['b'])}}}$."
                )
                if outcome.result.n_bootstrap_failed:
                    parts.append(converged_only("Its intervals", outcome.result, "found two usable budgets"))
            else:
                absent[name] = outcome.reason
        if len(absent) == 2 and len(set(absent.values())) == 1:
            parts.append(f"The IsoFLOP and lower-envelope fits are absent: {absent['IsoFLOP']}.")
        else:
            parts += [f"The {name} fit is absent: {reason}." for name, reason in absent.items()]
        if "IsoFLOP" in absent:
            parts.append(
                "IsoFLOP profiles need several training budgets, each with models of different "
                "sizes trained at that same compute; "
                + ("the allocation below therefore rests on the parametric fit alone." if self.parametric.available
                   else "with the parametric fit declined too, there is no allocation below.")
            )
        return Markdown(" ".join(parts))

    # -- compute-optimal allocation ----------------------------------------------------------

    def allocation_budgets(self) -> np.ndarray:
        """Whole decades of compute (FLOP) from the smallest run to two decades past the largest."""
        low = math.floor(math.log10(float(self.runs.C.min())))
        high = math.ceil(math.log10(float(self.runs.C.max()))) + EXTRAPOLATION_DECADES
        return 10.0 ** np.arange(low, high + 1)

    def allocation_table(self) -> Markdown:
        """Compute-optimal N, D, tokens per parameter and loss per budget, from the parametric fit.

        Budgets beyond the largest run (or below the smallest) are marked as extrapolated.
        """
        fit = self.parametric.result
        if fit is None:
            return Markdown(f"No allocation table: the parametric fit was declined ({self.parametric.reason}).")
        budgets = self.allocation_budgets()
        n_opt = np.asarray(fit.n_opt(budgets), dtype=float)
        d_opt = np.asarray(fit.d_opt(budgets), dtype=float)
        n_band = self._n_opt_band(fit, budgets)
        low, high = float(self.runs.C.min()), float(self.runs.C.max())
        frame = pd.DataFrame(
            {
                "Budget C (FLOP)": [power_of_ten(c) for c in budgets],
                "N_opt (parameters)": [count(v) for v in n_opt],
                f"N_opt, {self.level_percent} interval": n_band,
                "D_opt (tokens)": [count(v) for v in d_opt],
                "Tokens per parameter": [number(v) for v in d_opt / n_opt],
                "Loss (nats/token)": [number(float(v)) for v in np.asarray(fit.loss_at_budget(budgets))],
                "Range": [
                    "extrapolated, below the runs" if c < low
                    else "extrapolated, beyond the runs" if c > high else "within the data"
                    for c in budgets
                ],
            }
        )
        return numbers_table(frame, text_columns=("Range",))

    def _n_opt_band(self, fit: Any, budgets: np.ndarray) -> list[str]:
        if not fit.ci:
            return [MISSING] * len(budgets)
        lo, hi = fit.n_opt_interval(budgets, level=self.settings.level)
        return [count_interval((float(a), float(b))) for a, b in zip(np.atleast_1d(lo), np.atleast_1d(hi), strict=True)]

    def largest_budget_sentence(self) -> str:
        """N_opt and D_opt at the largest budget of the allocation table, as a sentence."""
        fit = self.parametric.result
        if fit is None:
            return "Without a parametric fit there is no compute-optimal allocation to extrapolate."
        budget = float(self.allocation_budgets()[-1])
        n_opt, d_opt = float(np.asarray(fit.n_opt(budget))), float(np.asarray(fit.d_opt(budget)))
        return (
            f"At {power_of_ten(budget)} FLOP, {EXTRAPOLATION_DECADES} decades or more beyond the largest run, "
            f"the fit would train a model of {count(n_opt)} parameters on {count(d_opt)} tokens "
            f"({number(d_opt / n_opt)} tokens per parameter)."
        )

    # -- residuals ---------------------------------------------------------------------------

    def residual_sentence(self) -> str:
        """Spread of log-loss residuals of the parametric fit over the fitted runs."""
        fit = self.parametric.result
        if fit is None:
            return f"No residuals: the parametric fit was declined ({self.parametric.reason})."
        runs = self.fitted_runs
        residuals = np.log(runs.loss) - np.log(np.asarray(fit.loss(runs.N, runs.D), dtype=float))
        worst = int(np.argmax(np.abs(residuals)))
        return (
            f"Over the {len(runs)} fitted runs, log-loss residuals have a root mean square of "
            f"{number(float(np.sqrt(np.mean(residuals**2))))} (a typical relative error of "
            f"{number(100 * float(np.expm1(np.sqrt(np.mean(residuals**2)))), 2)}%); the largest, "
            f"{number(float(residuals[worst]), 2)}, is at {runs.labels[worst]}."
        )

    # -- published laws ----------------------------------------------------------------------

    @cached_property
    def published(self) -> dict[str, PublishedLaw]:
        """Every published parametric law in the package's ``scaling_laws`` table, by law id."""
        from analysis.data import load_table

        return published_parametric_laws(load_table("scaling_laws"))

    def laws_on_these_runs(self) -> dict[str, Mapping[str, float]]:
        """This report's fit (when there is one) and the published laws: label -> parameters."""
        laws: dict[str, Mapping[str, float]] = {}
        if self.parametric.available:
            laws[THIS_FIT] = self.parametric.result.params
        laws.update({law.label: law.params for law in self.published.values()})
        return laws

    def residuals(self) -> pd.DataFrame:
        """Log-loss residuals of every law on the fitted runs, one row per (run, law).

        Columns: ``fit`` (label), ``N`` (parameters), ``C`` (FLOP), ``loss`` and ``predicted``
        (nats/token), ``residual`` (log observed minus log predicted) and ``source``.
        """
        runs = self.fitted_runs
        sources = {law.label: law.citation for law in self.published.values()} | {THIS_FIT: self.settings.runs}
        frames = []
        for label, params in self.laws_on_these_runs().items():
            predicted = law_loss(params, runs.N, runs.D)
            frames.append(pd.DataFrame({
                "fit": label, "N": runs.N, "C": runs.C, "loss": runs.loss, "predicted": predicted,
                "residual": np.log(runs.loss) - np.log(predicted), "source": sources[label],
            }))
        return pd.concat(frames, ignore_index=True)

    def published_table(self) -> Markdown:
        """This fit beside the published laws: parameters, exponents and RMS residual on these runs."""
        rms = self.residuals().groupby("fit", sort=False)["residual"].apply(lambda r: float(np.sqrt(np.mean(r**2))))
        rows = []
        if self.parametric.available:
            fit = self.parametric.result
            rows.append(_law_row(THIS_FIT, f"fitted to {self.settings.runs}", {**fit.params, **fit.exponents}, {}, rms[THIS_FIT]))
        for law in self.published.values():
            rows.append(_law_row(law.description, f"{law.source}, {law.source_detail}", {**law.params, **law.exponents},
                                 law.std_errors, rms[law.label]))
        return numbers_table(pd.DataFrame(rows), text_columns=("Law", "Source"))

    def published_sentence(self) -> str:
        """Which law describes these runs best, by the RMS of the log-loss residuals."""
        rms = self.residuals().groupby("fit", sort=False)["residual"].apply(lambda r: float(np.sqrt(np.mean(r**2))))
        names = {label: "this report's fit" if label == THIS_FIT else label for label in rms.index}
        best = str(rms.idxmin())
        others = "; ".join(f"{names[label]}, {number(value)}" for label, value in rms.items() if label != best)
        text = (f"On these runs the lowest RMS residual is that of {names[best]}, "
                f"{number(float(rms[best]))} (others: {others}).")
        if not self.parametric.available:
            text += f" This report has no fit of its own to compare: {self.parametric.reason}."
        return text

    # -- charts ------------------------------------------------------------------------------

    def chart_runs(self) -> pd.DataFrame:
        """The fitted runs as the charts take them: ``N, D, C, loss`` and ``budget`` (FLOP, NaN if none)."""
        frame = self.fitted_runs.to_frame()
        frame["budget"] = self.run_budgets()
        return frame

    def isoloss_chart(self) -> Any:
        """IsoLoss contours of the fitted law over (C, N), the runs and the efficient frontier."""
        fit = self.parametric.result
        if fit is None:
            return Markdown(f"No chart: the parametric fit was declined ({self.parametric.reason}).")
        return parametric_loss.isoloss_frontier_chart(
            self.chart_runs(), fit.params, NO_MARKERS, source=self.settings.runs, source_note=None
        )

    def isoflop_chart(self) -> Any:
        """Loss against model size per FLOP budget, with the fitted law along each budget."""
        fit = self.parametric.result
        if fit is None:
            return Markdown(f"No chart: the parametric fit was declined ({self.parametric.reason}).")
        if not np.isfinite(self.run_budgets()).any():
            return Markdown("No chart: no FLOP budget is shared by several runs, so there are no IsoFLOP slices to draw.")
        return parametric_loss.isoflop_slices_chart(
            self.chart_runs(), fit.params, NO_MARKERS, source=self.settings.runs, source_note=None
        )

    def residual_chart(self, laws: str = "this") -> Any:
        """Log-loss residuals against compute: of this fit (``"this"``) or of every law (``"all"``)."""
        residuals = self.residuals()
        if laws == "this":
            residuals = residuals[residuals["fit"] == THIS_FIT]
        if residuals.empty:
            return Markdown(f"No residuals: the parametric fit was declined ({self.parametric.reason}).")
        return parametric_loss.residual_chart(residuals)
