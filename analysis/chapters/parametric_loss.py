"""Chapter 5: the parametric loss L(N, D) fitted to the Chinchilla runs, against the published sets.

Four parameter sets are compared on the runs: Hoffmann et al. (2022)'s as printed in Appendix D.2
(rounded to two significant digits), the same estimates before rounding (as their source carries
them and the replication's code uses them), Besiroglu et al. (2024)'s Table 1, and the Huber-loss
fit of this book. A fifth, the replication's own objective refitted here
(:class:`analysis.fit.likelihood.HuberLikelihoodFit`), checks that Table 1 is reproduced.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.chapters.epoch import HUBER_DELTA, EpochFits, epoch_fits, notable_models
from analysis.data import load_table
from analysis.fit import ParametricLossResult, TrainingRuns, huber_objective
from analysis.fit.laws import PARAMETER_NAMES, ParametricLaw
from analysis.fit.likelihood import negative_log_likelihood
from analysis.published import published_laws
from analysis.tables import markdown_table
from analysis.text import (
    bootstrap_interval,
    format_interval,
    format_power,
    format_scientific,
    format_si,
    format_signed,
    format_value,
    group_thousands,
    names_list,
)

HOFFMANN_ROUNDED = "Hoffmann et al., as printed"
HOFFMANN = "Hoffmann et al., unrounded"
BESIROGLU = "Besiroglu et al. (2024)"
REPRODUCED = "Replication refitted here"
OURS = "Fitted here"
PARAMETER_SETS = (HOFFMANN_ROUNDED, HOFFMANN, BESIROGLU, OURS)
"""The sets whose residuals the chapter shows, in the order of its tables and panels."""
ALL_SETS = (HOFFMANN_ROUNDED, HOFFMANN, BESIROGLU, REPRODUCED, OURS)
SET_SOURCES = {
    HOFFMANN_ROUNDED: "Hoffmann et al. (2022), Appendix D.2 (printed, rounded)",
    HOFFMANN: "Hoffmann et al. (2022), Appendix D.2 estimates before rounding (Besiroglu et al. 2024)",
    BESIROGLU: "Besiroglu et al. (2024), Table 1",
    REPRODUCED: "this book: Besiroglu et al.'s likelihood refitted",
    OURS: "this book's fit (Huber loss, as Hoffmann et al. describe)",
}
"""Where each parameter set comes from, as the residual chart's tooltips say it."""
SYMBOLS = {"E": "E", "A": "A", "B": "B", "alpha": "α", "beta": "β", "a": "a", "b": "b"}
TEX = {"E": "$E$", "A": "$A$", "B": "$B$", "alpha": r"$\alpha$", "beta": r"$\beta$",
       "a": r"$a = \beta/(\alpha+\beta)$", "b": r"$b = \alpha/(\alpha+\beta)$",
       "n_opt": r"$N_\text{opt}$ at Gopher's budget"}
"""How the parameter table names each row (typeset math)."""
PRINTED_DIGITS = {"E": 2, "A": 2, "B": 2, "alpha": 4, "beta": 4}
"""Decimals Besiroglu et al.'s Table 1 prints for each estimate."""
LABELLED_BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)
"""The IsoFLOP budgets (FLOP) as Hoffmann et al. (2022) label them in the legend of their Figure 4, smallest first."""

MARKED_MODEL = "gopher"
"""The model the chapter's figure marks, at its size and at the budget Hoffmann et al. state for it."""
MOSTLY = 0.9
"""A share above which the prose says "almost all"."""
RMS_DIGITS = 2
"""Significant figures of every root mean square residual the chapter prints (tables and prose alike)."""


def _as_printed(value: float) -> str:
    """A published number as its source prints it (the data keep the printed digits): ``0.34``, ``2,085.43``."""
    return group_thousands(f"{value:g}")


def _estimate(value: float, digits: int = 4) -> str:
    """An estimate to ``digits`` significant figures, thousands grouped: ``0.4517``, ``2,143``."""
    return group_thousands(format_value(value, digits))


def signed_percent(value: float, digits: int = 2) -> str:
    """A percentage with its sign to ``digits`` significant figures, zero below a thousandth of a percent
    (a median regression's median residual is zero up to rounding): ``"−1.7%"``, ``"+0.17%"``, ``"0%"``."""
    return format_signed(round(value, 3) + 0.0, digits, plus=True) + "%"


def stated_budget(model_id: str = MARKED_MODEL) -> float:
    """A model's training budget as Hoffmann et al. state it (FLOP)."""
    return float(load_table("compute_optimal_models").set_index("model_id").loc[model_id, "stated_training_flops"])


def marked_model() -> pd.DataFrame:
    """The marked model (Gopher) as the figure takes it: its size and the budget Hoffmann et al. state."""
    models = notable_models()
    return models[models["model_id"] == MARKED_MODEL].assign(C=stated_budget())


@dataclass(frozen=True)
class ParametricLossChapter:
    """Everything chapter 5 shows.

    Attributes:
        fits: the fits on the Epoch runs; the chapter reads ``fits.parametric`` and ``fits.replication``.
        laws: the parameter sets of L(N, D) by label (:data:`ALL_SETS`).
        comparison: one row per parameter (E, A, B, alpha, beta, a, b), indexed by name, one column
            per set of :data:`ALL_SETS` (its label), plus ``besiroglu_se``, ``ours_lo``, ``ours_hi``.
        residuals: one row per (run, set of :data:`PARAMETER_SETS`): ``fit``, ``N``, ``D``, ``C``, ``loss``,
            ``predicted``, ``residual = log(loss) - log(predicted)``, ``source``, ``used``.
        residual_summary: one row per set of :data:`ALL_SETS` (indexed by label): ``huber`` (mean Huber
            loss, the objective of Hoffmann et al.'s procedure), ``likelihood`` (negative log-likelihood
            per run, the replication's objective), ``rms_percent``, ``median_percent``,
            ``share_overpredicted``, ``n_opt`` (parameters at Gopher's stated budget), ``a``, ``n_runs``.
        markers: the marked model (Gopher) as the chart takes it.
    """

    fits: EpochFits
    laws: dict[str, ParametricLaw]
    comparison: pd.DataFrame
    residuals: pd.DataFrame
    residual_summary: pd.DataFrame
    markers: pd.DataFrame

    @property
    def result(self) -> ParametricLossResult:
        """Our Approach 3 result."""
        return self.fits.parametric

    @property
    def runs(self) -> pd.DataFrame:
        return self.fits.runs

    @property
    def n_slices(self) -> int:
        """IsoFLOP slices the runs lie on."""
        return int(self.runs["budget"].nunique())

    @property
    def budgets_below_labels(self) -> tuple[float, float]:
        """How far below its label in :data:`LABELLED_BUDGETS` each extracted budget lies, as a share of the
        label: ``(smallest, largest)``. Raises ``ValueError`` when the slices and labels differ in number."""
        budgets = sorted(self.runs["budget"].dropna().unique())
        if len(budgets) != len(LABELLED_BUDGETS):
            raise ValueError(f"{len(budgets)} IsoFLOP slices against {len(LABELLED_BUDGETS)} labelled budgets")
        shortfall = [1 - budget / label for budget, label in zip(budgets, LABELLED_BUDGETS, strict=True)]
        return min(shortfall), max(shortfall)

    @property
    def n_in_slices(self) -> int:
        """Runs that lie on an IsoFLOP slice."""
        return int(self.runs["budget"].notna().sum())

    @property
    def gopher(self) -> pd.Series:
        """The marked model: ``name``, ``N``, ``D`` (published), ``C`` (the budget Hoffmann et al. state)."""
        return self.markers.iloc[0]

    def value(self, name: str, parameter_set: str = OURS, digits: int = 3) -> str:
        """A parameter (or ``a``, ``b``) of a set, to ``digits`` significant figures."""
        return format_value(self.comparison.loc[name, parameter_set], digits)

    def interval(self, name: str, digits: int = 3, *, named: bool = False) -> str:
        """Our bootstrap interval of ``name`` (a parameter or ``a``, ``b``, ``G``): ``"0.490–0.566"``; ``named``, with
        the words that say what it is (``"95% bootstrap interval 0.490–0.566"``)."""
        low, high = self.result.ci[name]
        return bootstrap_interval(low, high, digits=digits) if named else format_interval(low, high, digits)

    def outside(self, parameter_set: str) -> list[str]:
        """The parameters (symbols) of a set that lie outside our 95% intervals."""
        rows = self.comparison.loc[list(PARAMETER_NAMES)]
        outside = (rows[parameter_set] < rows["ours_lo"]) | (rows[parameter_set] > rows["ours_hi"])
        return [SYMBOLS[name] for name in rows.index[outside]]

    def outside_text(self, parameter_set: str, *, math: bool = False) -> str:
        """:meth:`outside` as words: ``"E, α and β"``, or ``"none"``; ``math`` typesets each symbol as inline
        math (``"$E$, $\\alpha$ and $\\beta$"``), as the running text writes them."""
        names = [name for name in PARAMETER_NAMES if SYMBOLS[name] in self.outside(parameter_set)]
        if not names:
            return "none"
        return names_list(TEX[name] if math else SYMBOLS[name] for name in names)

    def summary(self, parameter_set: str, column: str) -> float:
        """One number of :attr:`residual_summary`."""
        return float(self.residual_summary.loc[parameter_set, column])

    def share_below(self, parameter_set: str) -> str:
        """The share of the runs below a set's prediction, as a percentage: ``"98%"``."""
        return f"{100 * self.summary(parameter_set, 'share_overpredicted'):.0f}%"

    def median_text(self, parameter_set: str, digits: int = 2) -> str:
        """A set's median residual with its sign, in percent: ``"−1.7%"``, ``"+0.17%"``, ``"0%"``."""
        return signed_percent(self.summary(parameter_set, "median_percent"), digits)

    @property
    def share_description(self) -> dict[str, str]:
        """How the prose describes the share of runs below each Hoffmann et al. prediction:
        ``"almost every"`` (above :data:`MOSTLY`), ``"most"``, ``"about half of the"``, ``"a minority of the"``."""
        words = {}
        for label in (HOFFMANN_ROUNDED, HOFFMANN):
            share = self.summary(label, "share_overpredicted")
            words[label] = ("almost every" if share > MOSTLY else "most" if share > 0.6
                            else "about half of the" if share >= 0.4 else "a minority of the")
        return words

    def median_magnitude(self, parameter_set: str, digits: int = 2) -> str:
        """The size of a set's median residual, without its sign, in percent: ``"1.7%"``."""
        return format_value(abs(self.summary(parameter_set, "median_percent")), digits) + "%"

    def rms_text(self, parameter_set: str) -> str:
        """A set's root mean square residual as every table and sentence prints it: ``"0.75%"``."""
        return format_value(self.summary(parameter_set, "rms_percent"), RMS_DIGITS) + "%"

    @functools.cached_property
    def rounding_by_parameter(self) -> pd.DataFrame:
        """Per parameter whose printed value differs from the unrounded one: the median residual (percent)
        of the unrounded set with only that parameter rounded (``median_percent``), and the share of the
        whole shift from unrounded to rounded it makes (``share_of_shift``); indexed by name."""
        rounded, unrounded = self.laws[HOFFMANN_ROUNDED].params, self.laws[HOFFMANN].params
        used = self.runs[self.fits.used]
        base, full = self.summary(HOFFMANN, "median_percent"), self.summary(HOFFMANN_ROUNDED, "median_percent")
        rows = []
        for name in PARAMETER_NAMES:
            if math.isclose(rounded[name], unrounded[name], rel_tol=1e-12):
                continue
            law = ParametricLaw.from_params({**unrounded, name: rounded[name]})
            median = 100 * float(np.median(used["loss"] / law.loss(used["N"], used["D"]) - 1))
            rows.append({"parameter": name, "median_percent": median, "share_of_shift": (median - base) / (full - base)})
        return pd.DataFrame(rows).set_index("parameter")

    @property
    def dominant_rounding(self) -> pd.Series:
        """The parameter whose rounding alone makes most of the shift: ``symbol``, ``share_of_shift``,
        ``median_percent``, ``printed``, ``unrounded`` and both as their sources print them (``printed_text``,
        ``unrounded_text``)."""
        table = self.rounding_by_parameter
        name = str(table["share_of_shift"].abs().idxmax())
        return pd.Series({"symbol": SYMBOLS[name], "share_of_shift": float(table.loc[name, "share_of_shift"]),
                          "median_percent": float(table.loc[name, "median_percent"]),
                          "printed": self.laws[HOFFMANN_ROUNDED].params[name],
                          "unrounded": self.laws[HOFFMANN].params[name],
                          "printed_text": _as_printed(self.laws[HOFFMANN_ROUNDED].params[name]),
                          "unrounded_text": _as_printed(self.laws[HOFFMANN].params[name])})

    @property
    def exponent_verdict(self) -> str:
        """Whether Hoffmann et al.'s unrounded exponent ``a`` lies ``"outside"`` or ``"inside"`` our interval."""
        low, high = self.result.ci["a"]
        return "inside" if low <= self.comparison.loc["a", HOFFMANN] <= high else "outside"

    @property
    def table2_a(self) -> float:
        """Approach 3's exponent ``a`` as printed in Hoffmann et al.'s Table 2."""
        return published_laws()["hoffmann2022_approach3"].coefficients["a"]

    @property
    def table2_interval(self) -> str:
        """Table 2's 10th-90th percentile interval of Approach 3's ``a``: ``"0.454–0.455"``."""
        low, high = published_laws()["hoffmann2022_approach3"].intervals["a"]
        return format_interval(low, high, 3)

    @property
    def gopher_slice(self) -> dict[str, float]:
        """Gopher's stated budget under our Approach 3 fit: ``C`` (FLOP), ``N`` (Gopher's parameters),
        ``N_opt`` with ``N_opt_lo``/``N_opt_hi`` (parameters), ``loss_at_N`` and ``loss_at_opt``
        (fitted loss, nats/token) and ``size_ratio = N / N_opt``."""
        gopher, result = self.gopher, self.result
        n_opt = float(np.asarray(result.n_opt(gopher["C"])))
        low, high = ((float(np.asarray(v)) for v in result.n_opt_interval(gopher["C"])) if result.ci
                     else (np.nan, np.nan))
        losses = np.asarray(result.law.loss_at_size(np.array([gopher["N"], n_opt]), gopher["C"]), dtype=float)
        return {
            "C": float(gopher["C"]), "N": float(gopher["N"]), "N_opt": n_opt, "N_opt_lo": low, "N_opt_hi": high,
            "loss_at_N": float(losses[0]), "loss_at_opt": float(losses[1]), "size_ratio": float(gopher["N"] / n_opt),
        }

    @property
    def gopher_interval_text(self) -> str:
        """The bootstrap interval of N_opt at Gopher's stated budget: ``"58B–104B"``."""
        s = self.gopher_slice
        return format_interval(s["N_opt_lo"], s["N_opt_hi"], formatter=lambda v: format_si(v, 2))

    @property
    def gopher_interval_phrase(self) -> str:
        """:attr:`gopher_interval_text` as the prose names it: ``"95% bootstrap interval 58B–104B"``."""
        s = self.gopher_slice
        return bootstrap_interval(s["N_opt_lo"], s["N_opt_hi"], lambda v: format_si(v, 2))

    def n_opt_text(self, parameter_set: str) -> str:
        """A set's N_opt at Gopher's stated budget: ``"40B"``."""
        return format_si(self.summary(parameter_set, "n_opt"), 2)

    @property
    def replication_gap(self) -> float:
        """Largest difference between the refitted replication and Table 1, in units of the last digit
        Table 1 prints (E, A, B to two decimals, alpha and beta to four)."""
        return max(abs(self.comparison.loc[name, REPRODUCED] - self.comparison.loc[name, BESIROGLU])
                   * 10 ** PRINTED_DIGITS[name] for name in PARAMETER_NAMES)

    @property
    def huber_vs_likelihood(self) -> float:
        """Largest difference between our Huber fit and the replication's estimates, in units of the
        replication's standard errors (Table 1)."""
        errors = published_laws()["besiroglu2024"].std_errors
        return max(abs(self.comparison.loc[name, OURS] - self.comparison.loc[name, REPRODUCED]) / errors[name]
                   for name in PARAMETER_NAMES)

    @property
    def objective_effect(self) -> str:
        """Whether the choice between the two objectives (Huber loss, likelihood) ``"does not change"`` or
        ``"changes"`` the chapter's findings: the exponent ``a`` (within 0.01) and N_opt at Gopher's budget
        (within 5%), both still far from Hoffmann et al.'s unrounded values."""
        a_ours, a_rep = self.comparison.loc["a", OURS], self.comparison.loc["a", REPRODUCED]
        n_ours, n_rep = self.summary(OURS, "n_opt"), self.summary(REPRODUCED, "n_opt")
        same = abs(a_ours - a_rep) < 0.01 and abs(n_ours / n_rep - 1) < 0.05
        low, _ = self.result.ci["a"]
        hoffmann = self.comparison.loc["a", HOFFMANN]
        return "does not change" if same and hoffmann < min(low, a_rep) else "changes"

    def relative_difference(self, name: str, first: str = OURS, second: str = REPRODUCED) -> float:
        """``|first / second - 1|`` for one parameter."""
        return abs(self.comparison.loc[name, first] / self.comparison.loc[name, second] - 1)

    def parameter_table(self) -> Markdown:
        """:meth:`parameter_frame` as a table (row names typeset)."""
        return markdown_table(self.parameter_frame(), markdown_columns=["Parameter"],
                              formats={"Parameter": lambda name: TEX[str(name)]})

    def parameter_frame(self) -> pd.DataFrame:
        """One row per parameter, and a last row ``n_opt`` (parameters at Gopher's stated budget), as text:
        Hoffmann et al. as printed and unrounded, the replication's Table 1 (± standard error as
        printed), its objective refitted here, and our Huber fit (95% bootstrap interval). Published
        parameters as their sources print them, estimates to four significant figures, intervals to three,
        sizes to two, but no digit before the decimal point rounded away (``1,062``, ``112B``); thousands grouped."""
        rows = []
        for name, row in self.comparison.iterrows():
            # A published parameter as its source prints it; the exponents a and b follow from them.
            as_published = _as_printed if name in PARAMETER_NAMES else _estimate
            replicated = as_published(row[BESIROGLU])
            if np.isfinite(row["besiroglu_se"]):
                replicated += f" ± {_as_printed(row['besiroglu_se'])}"
            interval = format_interval(row["ours_lo"], row["ours_hi"], formatter=lambda v: _estimate(v, 3))
            rows.append({
                "Parameter": str(name),
                HOFFMANN_ROUNDED: as_published(row[HOFFMANN_ROUNDED]),
                HOFFMANN: as_published(row[HOFFMANN]),
                BESIROGLU: replicated,
                REPRODUCED: _estimate(row[REPRODUCED]),
                OURS: f"{_estimate(row[OURS])} ({interval})",
            })
        size = {label: self.n_opt_text(label) for label in ALL_SETS}
        rows.append({"Parameter": "n_opt", **size,
                     OURS: f"{size[OURS]} ({self.gopher_interval_text})"})
        return pd.DataFrame(rows)

    def residual_table(self) -> Markdown:
        """How each parameter set fits the runs the fits use."""
        return markdown_table(
            self.residual_summary.reset_index(),
            columns={"fit": "Parameters", "share_overpredicted": "Runs below prediction",
                     "median_percent": "Median residual", "rms_percent": "RMS residual",
                     "huber": "Mean Huber loss", "likelihood": "Negative log-likelihood per run"},
            formats={"share_overpredicted": lambda v: f"{100 * v:.0f}%",
                     "median_percent": signed_percent,
                     "rms_percent": lambda v: format_value(v, RMS_DIGITS) + "%",
                     "huber": lambda v: format_scientific(v, 3), "likelihood": lambda v: format_signed(v, 4)},
            widths={"fit": 24, "share_overpredicted": 12, "median_percent": 12, "rms_percent": 10, "huber": 14,
                    "likelihood": 16},
        )

    @property
    def budget_text(self) -> str:
        """Gopher's stated budget as text: ``"5.76e23 FLOP"`` (the book's power-of-ten notation)."""
        return format_power(self.gopher["C"], 3, "FLOP")


def parameter_comparison(fits: EpochFits, laws: dict[str, ParametricLaw]) -> pd.DataFrame:
    """One row per parameter (E, A, B, alpha, beta, a, b), indexed by name: one column per set (its
    label), the replication's standard error ``besiroglu_se`` and our bootstrap interval ``ours_lo``, ``ours_hi``."""
    errors = published_laws()["besiroglu2024"].std_errors
    values = {label: {**law.params, **law.exponents} for label, law in laws.items()}
    rows = []
    for name in (*PARAMETER_NAMES, "a", "b"):
        low, high = fits.parametric.ci.get(name, (np.nan, np.nan))
        rows.append({"parameter": name, **{label: values[label][name] for label in laws},
                     "besiroglu_se": errors.get(name, np.nan), "ours_lo": low, "ours_hi": high})
    return pd.DataFrame(rows).set_index("parameter")


def residual_frame(fits: EpochFits, laws: dict[str, ParametricLaw]) -> pd.DataFrame:
    """One row per (run, parameter set) for :func:`analysis.charts.parametric_loss.residual_chart`."""
    runs = fits.runs
    frames = []
    for name, law in laws.items():
        predicted = law.loss(runs["N"].to_numpy(), runs["D"].to_numpy())
        frames.append(pd.DataFrame({
            "fit": name, "N": runs["N"], "D": runs["D"], "C": runs["C"], "loss": runs["loss"],
            "predicted": predicted, "residual": np.log(runs["loss"].to_numpy()) - np.log(predicted),
            "source": SET_SOURCES[name], "used": fits.used,
        }))
    return pd.concat(frames, ignore_index=True)


def residual_summary(fits: EpochFits, laws: dict[str, ParametricLaw], residuals: pd.DataFrame) -> pd.DataFrame:
    """How well each parameter set fits the runs the fits use: ``huber`` (mean Huber loss, delta 1e-3),
    ``likelihood`` (negative log-likelihood per run, scale profiled), ``rms_percent`` (root mean square of
    the log residual, percent), ``median_percent`` (median of observed/predicted - 1, percent) and
    ``share_overpredicted`` (fraction of runs whose loss is below the prediction); and what it implies:
    ``n_opt`` (parameters at Gopher's stated budget) and ``a``; indexed by the set's label."""
    used = residuals[residuals["used"]]
    training_runs = TrainingRuns.from_frame(fits.runs[fits.used], n_col="N", d_col="D", c_col=None, loss_col="loss")
    budget = stated_budget()
    rows = []
    for name, law in laws.items():
        group = used[used["fit"] == name]
        rows.append({
            "fit": name,
            "share_overpredicted": float(np.mean(group["residual"] < 0)),
            "median_percent": 100 * float(np.median(np.expm1(group["residual"]))),
            "rms_percent": 100 * float(np.sqrt(np.mean(group["residual"] ** 2))),
            "huber": huber_objective(law.params, training_runs, huber_delta=HUBER_DELTA),
            "likelihood": negative_log_likelihood(law.params, training_runs, huber_delta=HUBER_DELTA),
            "n_opt": float(law.n_opt(budget)),
            "a": law.exponents["a"],
            "n_runs": len(group),
        })
    return pd.DataFrame(rows).set_index("fit")


def parameter_sets(fits: EpochFits) -> dict[str, ParametricLaw]:
    """The parameter sets of L(N, D) by label (:data:`ALL_SETS`)."""
    published = published_laws()
    return {HOFFMANN_ROUNDED: published["hoffmann2022_approach3"].law,
            HOFFMANN: published["hoffmann2022_approach3_unrounded"].law,
            BESIROGLU: published["besiroglu2024"].law,
            REPRODUCED: fits.replication.law,
            OURS: fits.parametric.law}


def chapter_for(fits: EpochFits) -> ParametricLossChapter:
    """Chapter 5's result for a given set of fits (the book's, or a test's with fewer resamples)."""
    laws = parameter_sets(fits)
    shown = {label: laws[label] for label in PARAMETER_SETS}
    residuals = residual_frame(fits, shown)
    summary = residual_summary(fits, laws, residual_frame(fits, laws))
    return ParametricLossChapter(fits, laws, parameter_comparison(fits, laws), residuals, summary, marked_model())


@functools.cache
def parametric_loss_chapter() -> ParametricLossChapter:
    """Chapter 5 (cached) on the book's fits."""
    return chapter_for(epoch_fits())
