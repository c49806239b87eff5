"""Chapter 3: average benchmark score against non-embedding parameters, and "effective size"."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.chapters.common import N_BOOTSTRAP, SEED, fixed, fixed_with_interval, provenance_columns
from analysis.charts.benchmarks import OTHER_FAMILIES
from analysis.data import load_table
from analysis.fit import LogLinearTrend, TrendResult
from analysis.tables import markdown_table
from analysis.text import LEVEL, bootstrap_interval, count, format_count, format_signed, number

NOT_DETERMINED = "not determined"
"""What the book prints for an effective size the data do not determine."""
BILLION = 1e9
"""The figure's axis is in billions of non-embedding parameters."""
FEATURED_MODEL = "memory3-2b-sft"
"""The model the source figure is about (Memory³-2B-SFT)."""
FEATURED_SUFFIX = " (Yang et al.)"
"""Appended to the featured model's name for its own colour group."""
SEVEN_BILLION_CLUSTER = (6e9, 8e9)
"""Non-embedding sizes (parameters) around the common 7-billion release size, a cluster the chapter discusses."""
PROFILE_POINTS = 120
PROFILE_CEILING = 1e15
"""The effective-size profile starts at the slope where the size falls below this many parameters."""
PROFILE_HEADROOM = 1.3
"""The profile's slopes reach this factor beyond the larger of the estimate and the interval's upper end."""


def effective_size_identified(trend: TrendResult) -> bool:
    """Whether inverting the trend gives a bounded effective size: the slope's interval lies above zero.

    The effective size is ``10 ** ((y - intercept) / slope)``, a ratio with the slope in the
    denominator. When the slope's interval reaches zero, resamples whose trend is flat or falling
    are as plausible as the estimate, and for them no size (or every size) reaches the score: the
    confidence set of the ratio is unbounded (Fieller's problem). A trend that falls with size
    cannot be read as "performs like a larger model" either, so a negative slope does not count.
    """
    low, _high = trend.ci["slope"]
    return bool(low > 0)


def effective_sizes(trend: TrendResult, scores: np.ndarray) -> pd.DataFrame:
    """Effective size of each score, shape ``(n,)`` in, one row per score out.

    Columns ``effective_parameters``, ``effective_lower``, ``effective_upper`` (parameters; the
    trend's inverse and its bootstrap interval at :data:`LEVEL`) and ``effective_text``. All NaN,
    and the text :data:`NOT_DETERMINED`, when :func:`effective_size_identified` is false.
    """
    scores = np.asarray(scores, dtype=float)
    if not effective_size_identified(trend):
        empty = np.full(scores.shape, np.nan)
        return pd.DataFrame({"effective_parameters": empty, "effective_lower": empty, "effective_upper": empty,
                             "effective_text": [NOT_DETERMINED] * scores.size})
    effective = trend.inverse(scores)
    low, high = trend.inverse_interval(scores, level=LEVEL)
    return pd.DataFrame({
        "effective_parameters": effective, "effective_lower": low, "effective_upper": high,
        "effective_text": [f"{format_count(v)} ({format_count(lo)} to {format_count(hi)})"
                           for v, lo, hi in zip(effective, low, high, strict=True)],
    })


@dataclass(frozen=True)
class BenchmarksChapter:
    """Everything chapter 3 shows.

    Attributes:
        points: one row per model: ``model_id``, ``name``, ``family``, ``family_group`` (the
            colour: the featured model on its own, families with several models, the rest together),
            ``organisation``, ``parameters`` (non-embedding), ``score``, ``residual``, the
            ``effective_*`` columns of :func:`effective_sizes`, ``parameters_text``, provenance.
        trend: the log-linear trend of score on parameters.
        effective_identified: whether the trend determines effective sizes at all.
    """

    points: pd.DataFrame
    trend: TrendResult
    effective_identified: bool

    def model(self, model_id: str) -> pd.Series:
        """One row of :attr:`points` by ``model_id``."""
        return self.points.set_index("model_id").loc[model_id]

    @staticmethod
    def published_parameters(model_id: str) -> float:
        """Total parameters of a model as its paper publishes them (the ``models`` registry)."""
        return float(load_table("models").set_index("model_id").loc[model_id, "parameters"])

    @property
    def n_noted(self) -> int:
        """Rows with a note (e.g. where the paper gives another size)."""
        return int((self.points["note"].fillna("") != "").sum())

    @property
    def n_exact(self) -> int:
        """Rows copied from a table (the rest are read off a figure)."""
        return int((self.points["raw_value_kind"] == "exact").sum())

    def larger(self, model_id: str) -> pd.DataFrame:
        """The models with more non-embedding parameters than ``model_id``."""
        return self.points[self.points["parameters"] > self.model(model_id)["parameters"]]

    def larger_below(self, model_id: str) -> pd.DataFrame:
        """The larger models that score lower than ``model_id``, largest first."""
        larger = self.larger(model_id)
        return larger[larger["score"] < self.model(model_id)["score"]].sort_values("parameters", ascending=False)

    def larger_above(self, model_id: str) -> pd.DataFrame:
        """The larger models that score at least as high as ``model_id``, best first."""
        larger = self.larger(model_id)
        return larger[larger["score"] >= self.model(model_id)["score"]].sort_values("score", ascending=False)

    def peers_below(self, model_id: str) -> pd.DataFrame:
        """The other models at most as large as ``model_id`` that score lower."""
        row = self.model(model_id)
        small = self.no_larger_than(model_id)
        return small[(small["model_id"] != model_id) & (small["score"] < row["score"])]

    @property
    def trend_rise_over_range(self) -> float:
        """How much the trend rises from the smallest to the largest model (points)."""
        return float(self.trend.slope * np.log10(self.size_span))

    def rank_above_trend(self, model_id: str) -> int:
        """1 for the model furthest above the trend, 2 for the next, ..."""
        return int(list(self.ranked["model_id"]).index(model_id)) + 1

    @property
    def size_span(self) -> float:
        """Largest over smallest non-embedding size in the figure."""
        return float(self.points["parameters"].max() / self.points["parameters"].min())

    @property
    def second_largest(self) -> float:
        """The second largest non-embedding size (parameters)."""
        return float(self.points["parameters"].nlargest(2).iloc[-1])

    def models_between(self, low: float, high: float) -> pd.DataFrame:
        """The models whose non-embedding size lies in ``[low, high]`` parameters."""
        return self.points[self.points["parameters"].between(low, high)]

    def no_larger_than(self, model_id: str) -> pd.DataFrame:
        """The models at most as large as ``model_id``."""
        return self.points[self.points["parameters"] <= self.model(model_id)["parameters"]]

    def trend_at(self, model_id: str) -> tuple[float, float, float]:
        """The trend's score at a model's size and its bootstrap band: ``(fit, lower, upper)``."""
        size = self.model(model_id)["parameters"]
        low, high = self.trend.interval([size], level=LEVEL)
        return float(self.trend.predict(size)), float(low[0]), float(high[0])

    @property
    def ranked(self) -> pd.DataFrame:
        """The models from furthest above the trend to furthest below."""
        return self.points.sort_values("residual", ascending=False)

    @property
    def slope_interval(self) -> tuple[float, float]:
        return self.trend.ci["slope"]

    @property
    def slope_statement(self) -> str:
        """The slope per tenfold parameters with its interval: ``"3.0 points (95% bootstrap interval −7.3 to 14.3)"``."""
        return fixed_with_interval(self.trend.slope, *self.slope_interval, unit="points")

    @property
    def slope_excludes_zero(self) -> bool:
        low, high = self.slope_interval
        return bool(low > 0 or high < 0)

    @property
    def slope_sign_share(self) -> float:
        """Fraction of bootstrap resamples whose slope is zero or negative (the trend does not rise)."""
        return float(np.mean(self.trend.samples[:, 1] <= 0))

    def effective_size_at_slope(self, model_id: str, slope: np.ndarray) -> np.ndarray:
        """Effective size (parameters) of one model if the trend had slope ``slope`` (points per tenfold).

        For a fixed slope ``s`` the least-squares line passes through the centroid of the points,
        ``(mean log10 N, mean score)``, so the size at which it reaches the model's score ``y`` is
        ``10 ** (mean log10 N + (y - mean score) / s)``. At the fitted slope this is the trend's own
        inverse. ``slope`` is an array of shape ``(m,)`` of non-zero slopes; returns shape ``(m,)``.
        """
        centre_u = float(np.log10(self.points["parameters"]).mean())
        centre_y = float(self.points["score"].mean())
        score = float(self.model(model_id)["score"])
        with np.errstate(divide="ignore", over="ignore"):  # a slope near zero: no finite size
            return 10.0 ** (centre_u + (score - centre_y) / np.asarray(slope, dtype=float))

    def profile_slopes(self, model_id: str = FEATURED_MODEL) -> np.ndarray:
        """Assumed slopes (points per tenfold parameters) for the effective-size profile of one model.

        :data:`PROFILE_POINTS` positive slopes, log-spaced from where the model's effective size
        falls below :data:`PROFILE_CEILING` to :data:`PROFILE_HEADROOM` times the larger of the
        estimate and the interval's upper end. Only for a model scoring above the mean, whose
        effective size falls as the slope grows.
        """
        _low, high = self.slope_interval
        excess = float(self.model(model_id)["score"]) - float(self.points["score"].mean())
        if excess <= 0:
            raise ValueError(f"{model_id} does not score above the mean; its profile is not drawn")
        centre_u = float(np.log10(self.points["parameters"]).mean())
        smallest = excess / (np.log10(PROFILE_CEILING) - centre_u)
        largest = PROFILE_HEADROOM * max(self.trend.slope, high)
        return np.geomspace(smallest, largest, PROFILE_POINTS)

    def steepest_slope_size(self, model_id: str = FEATURED_MODEL) -> float:
        """Effective size (parameters) of one model at the upper end of the slope's interval.

        For a model above the mean score, a steeper line reaches its score sooner, so this is the
        smallest effective size the slope interval allows (a lower bound, not an estimate).
        """
        return float(self.effective_size_at_slope(model_id, np.array([self.slope_interval[1]]))[0])

    @property
    def precision_needed(self) -> tuple[float, float]:
        """How much more precise the slope must be for its interval to exclude zero.

        Returns ``(factor, models)``: the interval's lower side (estimate minus lower end) would
        have to shrink by ``factor`` to reach zero, which under the usual ``1 / sqrt(n)`` scaling
        of a standard error takes about ``models = factor ** 2`` times as many models with the same
        spread of sizes and scores. Only meaningful for a positive slope estimate.
        """
        low, _high = self.slope_interval
        factor = (self.trend.slope - low) / self.trend.slope
        return float(factor), float(factor**2)

    def effective_size_statement(self, model_id: str = FEATURED_MODEL) -> str:
        """The effective size of one model with its interval, or why the data do not determine it."""
        row = self.model(model_id)
        if self.effective_identified:
            return (
                f"{row['name']} ({format_count(row['parameters'])} non-embedding parameters) scores like a "
                f"{format_count(row['effective_parameters'])}-parameter model on the trend "
                f"({bootstrap_interval(row['effective_lower'], row['effective_upper'], format_count)} parameters)"
            )
        low, high = self.slope_interval
        return (
            f"the effective size of {row['name']} is {NOT_DETERMINED} by these data: the slope’s {LEVEL:.0%} "
            f"interval, {fixed(low)} to {fixed(high)} points per tenfold, includes zero (in "
            f"{self.slope_sign_share:.0%} of the bootstrap resamples the trend is flat or falls with size), "
            f"and a trend that may not rise cannot say at which size a score of {fixed(row['score'], 2)} "
            "is reached"
        )

    def key_finding(self, model_id: str = FEATURED_MODEL) -> str:
        """The chapter's finding for the preface: how much size explains, and what that means for the effective size."""
        row = self.model(model_id)
        explained = f"the trend explains R² = {number(self.trend.r_squared, 1)} of the variance in score"
        if self.effective_identified:
            return f"Weakly: {explained}; {self.effective_size_statement(model_id)}."
        return (
            f"Barely: {explained}, and its slope ({self.slope_statement} per tenfold) may be zero. "
            f"{row['name']} lies {fixed(row['residual'])} "
            f"points above the trend, but how many parameters that lead is worth (its “effective size”) is "
            f"{NOT_DETERMINED} by these data."
        )

    def data_table(self) -> Markdown:
        """The models ranked by their distance from the trend (effective sizes only where determined)."""
        columns = {"name": "Model", "parameters": "Non-embedding parameters", "score": "Average score",
                   "residual": "Above trend (points)", "raw_value_kind": "Values"}
        if self.effective_identified:
            columns["effective_text"] = "Effective size (95% CI)"
        return markdown_table(
            self.ranked, columns=columns,
            formats={"parameters": lambda v: count(v, 2), "score": lambda v: fixed(v, 2),
                     "residual": lambda v: format_signed(v, decimals=1, plus=True)},
        )


@functools.cache
def benchmarks_chapter() -> BenchmarksChapter:
    """Chapter 3: average benchmark score vs non-embedding parameters (log-linear trend)."""
    table = load_table("llm_benchmarks")
    models = load_table("models")[["model_id", "organisation", "family"]]
    frame = table.merge(models, on="model_id", how="left", validate="one_to_one")
    parameters = frame["non_embedding_params_b"].astype(float) * BILLION
    points = provenance_columns(frame).assign(name=frame["label"], parameters=parameters,
                                              score=frame["avg_score"].astype(float))
    points["organisation"] = points["organisation"].fillna("unknown")
    family_sizes = points["family"].map(points["family"].value_counts())
    points["family_group"] = points["family"].where(family_sizes >= 2, OTHER_FAMILIES)
    points["featured"] = points["model_id"] == FEATURED_MODEL
    points.loc[points["featured"], "family_group"] = points.loc[points["featured"], "name"] + FEATURED_SUFFIX
    x, y = points["parameters"].to_numpy(), points["score"].to_numpy()
    trend = LogLinearTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED).fit(x, y)
    points["residual"] = trend.residuals(x, y)
    effective = effective_sizes(trend, y)
    for column in effective.columns:
        points[column] = effective[column].to_numpy()
    points["parameters_text"] = [count(v, 2) for v in points["parameters"]]
    return BenchmarksChapter(points, trend, effective_size_identified(trend))
