"""Chapter 5: the parametric loss L(N, D) fitted to the Chinchilla runs, against the published sets."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.chapters.epoch import HUBER_DELTA, EpochFits, epoch_fits, notable_model, notable_models
from analysis.fit import ParametricLossResult, TrainingRuns, huber_objective
from analysis.fit.laws import PARAMETER_NAMES, ParametricLaw
from analysis.published import published_laws
from analysis.tables import markdown_table
from analysis.text import format_interval, format_scientific, format_si, format_signed, format_value

HOFFMANN, BESIROGLU, OURS = "Hoffmann et al. (2022)", "Besiroglu et al. (2024)", "Fitted here"
PARAMETER_SETS = (HOFFMANN, BESIROGLU, OURS)
SET_SOURCES = {
    HOFFMANN: "Hoffmann et al. (2022), Section 3.3",
    BESIROGLU: "Besiroglu et al. (2024), Table 1",
    OURS: "this book's fit",
}
"""Where each parameter set comes from, as the residual chart's tooltips say it."""
SYMBOLS = {"E": "E", "A": "A", "B": "B", "alpha": "α", "beta": "β", "a": "a", "b": "b"}
MARKED_MODEL = "gopher"
"""The model the chapter's figure marks, at its size and budget."""


@dataclass(frozen=True)
class ParametricLossChapter:
    """Everything chapter 5 shows.

    Attributes:
        fits: the three fits on the Epoch runs; the chapter reads ``fits.parametric``.
        laws: the three parameter sets of L(N, D) by :data:`PARAMETER_SETS` label.
        comparison: one row per parameter (E, A, B, alpha, beta, a, b), indexed by name: ``hoffmann``,
            ``besiroglu``, ``besiroglu_se``, ``ours``, ``ours_lo``, ``ours_hi``.
        residuals: one row per (run, parameter set): ``fit``, ``N``, ``D``, ``C``, ``loss``,
            ``predicted``, ``residual = log(loss) - log(predicted)``, ``source``, ``used``.
        residual_summary: one row per parameter set (indexed by label): ``huber`` (the fitting
            objective), ``rms_percent``, ``median_percent``, ``share_overpredicted``, ``n_runs``.
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
    def n_in_slices(self) -> int:
        """Runs that lie on an IsoFLOP slice."""
        return int(self.runs["budget"].notna().sum())

    @property
    def gopher(self) -> pd.Series:
        return notable_model(MARKED_MODEL)

    def value(self, name: str, digits: int = 3) -> str:
        """Our estimate of parameter ``name``."""
        return format_value(self.result.params[name], digits)

    def interval(self, name: str, digits: int = 3) -> str:
        """Our bootstrap interval of ``name`` (a parameter or ``a``, ``b``, ``G``): ``"0.33–0.36"``."""
        low, high = self.result.ci[name]
        return format_interval(low, high, digits)

    def published(self, name: str, parameter_set: str = BESIROGLU, digits: int = 3) -> str:
        """A parameter of a published set: ``"0.3478"``."""
        column = {HOFFMANN: "hoffmann", BESIROGLU: "besiroglu"}[parameter_set]
        return format_value(self.comparison.loc[name, column], digits)

    def hoffmann_outside(self, name: str) -> bool:
        """Whether Hoffmann et al.'s value of ``name`` lies outside our interval."""
        row = self.comparison.loc[name]
        return not (row["ours_lo"] <= row["hoffmann"] <= row["ours_hi"])

    @property
    def hoffmann_outside_list(self) -> str:
        """The symbols of Hoffmann et al.'s parameters outside our intervals: ``"E, α and β"``."""
        symbols = [SYMBOLS[name] for name in PARAMETER_NAMES if self.hoffmann_outside(name)]
        return symbols[0] if len(symbols) == 1 else ", ".join(symbols[:-1]) + " and " + symbols[-1]

    @property
    def table2_a(self) -> float:
        """Approach 3's exponent ``a`` as printed in Hoffmann et al.'s Table 2."""
        return published_laws()["hoffmann2022_approach3"].coefficients["a"]

    @property
    def both_a_outside(self) -> bool:
        """Whether both published values of ``a`` (from the rounded parameters and Table 2) lie outside our interval."""
        low, high = self.result.ci["a"]
        return self.hoffmann_outside("a") and not (low <= self.table2_a <= high)

    def summary(self, parameter_set: str, column: str) -> float:
        """One number of :attr:`residual_summary`."""
        return float(self.residual_summary.loc[parameter_set, column])

    @property
    def gopher_slice(self) -> dict[str, float]:
        """Gopher's budget under our Approach 3 fit: ``C`` (FLOP), ``N`` (Gopher's parameters),
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
        """The bootstrap interval of N_opt at Gopher's budget: ``"23B–41B"``."""
        s = self.gopher_slice
        return format_interval(s["N_opt_lo"], s["N_opt_hi"], formatter=lambda v: format_si(v, 2))

    @property
    def hoffmann_gopher_n_opt(self) -> float:
        """N_opt at Gopher's budget under Hoffmann et al.'s published parameters."""
        return float(self.laws[HOFFMANN].n_opt(self.gopher["C"]))

    def parameter_table(self, digits: int = 4) -> Markdown:
        """:meth:`parameter_frame` as a table."""
        return markdown_table(self.parameter_frame(digits))

    def parameter_frame(self, digits: int = 4) -> pd.DataFrame:
        """One row per parameter, as text: as published, as replicated (± standard error) and fitted
        here (bootstrap interval)."""
        rows = []
        for name, row in self.comparison.iterrows():
            replicated = format_value(row["besiroglu"], digits)
            if np.isfinite(row["besiroglu_se"]):
                replicated += f" ± {format_value(row['besiroglu_se'], 2)}"
            rows.append({
                "Parameter": SYMBOLS[str(name)],
                HOFFMANN: format_value(row["hoffmann"], digits),
                BESIROGLU: replicated,
                OURS: f"{format_value(row['ours'], digits)} ({format_interval(row['ours_lo'], row['ours_hi'], 3)})",
            })
        return pd.DataFrame(rows)

    def residual_table(self) -> Markdown:
        """The fit of each parameter set on the runs the fits use."""
        return markdown_table(
            self.residual_summary.reset_index(),
            columns={"fit": "Parameters", "huber": "Mean Huber loss", "rms_percent": "RMS residual (%)",
                     "median_percent": "Median residual (%)", "share_overpredicted": "Share below prediction",
                     "n_runs": "Runs"},
            formats={"huber": lambda v: format_scientific(v, 3), "rms_percent": lambda v: format_value(v, 3),
                     "median_percent": lambda v: format_signed(v, 2),
                     "share_overpredicted": lambda v: format_value(100 * v, 3) + "%"},
        )


def parameter_comparison(fits: EpochFits, laws: dict[str, ParametricLaw]) -> pd.DataFrame:
    """One row per parameter (E, A, B, alpha, beta, a, b), indexed by name: published value
    (Hoffmann), the replication's estimate and standard error (Besiroglu), ours with its bootstrap interval."""
    errors = published_laws()["besiroglu2024"].std_errors
    values = {label: {**law.params, **law.exponents} for label, law in laws.items()}
    rows = []
    for name in (*PARAMETER_NAMES, "a", "b"):
        low, high = fits.parametric.ci.get(name, (np.nan, np.nan))
        rows.append({
            "parameter": name, "hoffmann": values[HOFFMANN][name], "besiroglu": values[BESIROGLU][name],
            "besiroglu_se": errors.get(name, np.nan), "ours": values[OURS][name], "ours_lo": low, "ours_hi": high,
        })
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
    """How well each parameter set fits the runs the fit uses: ``huber`` (mean Huber loss, the
    fitting objective), ``rms_percent`` (root mean square of the log residual, in percent),
    ``median_percent`` (median of observed/predicted - 1, percent) and ``share_overpredicted``
    (fraction of runs whose loss is below the prediction), indexed by the set's label."""
    used = residuals[residuals["used"]]
    training_runs = TrainingRuns.from_frame(fits.runs[fits.used], n_col="N", d_col="D", c_col=None, loss_col="loss")
    rows = []
    for name, law in laws.items():
        group = used[used["fit"] == name]
        rows.append({
            "fit": name,
            "huber": huber_objective(law.params, training_runs, huber_delta=HUBER_DELTA),
            "rms_percent": 100 * float(np.sqrt(np.mean(group["residual"] ** 2))),
            "median_percent": 100 * float(np.median(np.expm1(group["residual"]))),
            "share_overpredicted": float(np.mean(group["residual"] < 0)),
            "n_runs": len(group),
        })
    return pd.DataFrame(rows).set_index("fit")


def parameter_sets(fits: EpochFits) -> dict[str, ParametricLaw]:
    """The three parameter sets of L(N, D): published, replication, ours."""
    published = published_laws()
    return {HOFFMANN: published["hoffmann2022_approach3"].law, BESIROGLU: published["besiroglu2024"].law,
            OURS: fits.parametric.law}


def chapter_for(fits: EpochFits) -> ParametricLossChapter:
    """Chapter 5's result for a given set of fits (the book's, or a test's with fewer resamples)."""
    laws = parameter_sets(fits)
    residuals = residual_frame(fits, laws)
    markers = notable_models().query(f"model_id == '{MARKED_MODEL}'")
    return ParametricLossChapter(fits, laws, parameter_comparison(fits, laws), residuals,
                                 residual_summary(fits, laws, residuals), markers)


@functools.cache
def parametric_loss_chapter() -> ParametricLossChapter:
    """Chapter 5 (cached) on the book's fits."""
    return chapter_for(epoch_fits())
