"""Chapter 1: GLUE score against inference compute per example, and how fast efficiency improved."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.chapters.common import N_BOOTSTRAP, SEED, decimal_year, month_start, provenance_columns
from analysis.data import load_table
from analysis.fit import LogLinearTrend, TrendResult, pareto_frontier
from analysis.fit.efficiency import EfficiencyResult, EfficiencyTrend
from analysis.tables import markdown_table
from analysis.text import LEVEL, format_signed, format_value, names_list, number, with_interval

GRID_MARGIN = 1.4
"""The trend's band is drawn from this factor below the cheapest model to this factor above the dearest."""
GRID_POINTS = 60
TIME_GRID_POINTS = 40


@dataclass(frozen=True)
class PretrainingChapter:
    """Everything chapter 1 shows.

    Attributes:
        points: one row per model: ``name``, ``family``, ``gflops`` (GFLOPs per example),
            ``glue`` (points), ``release_date``, ``residual`` (points above the trend),
            ``on_frontier``, provenance (``source``, ``value_kind``, ``raw_value_kind``, ``note``).
        trend: the log-linear trend of GLUE on GFLOPs (:class:`analysis.fit.TrendResult`).
        curve: the trend and its band on a grid: ``gflops``, ``fit``, ``lower``, ``upper``.
        efficiency: GLUE on log-compute and release date (:class:`analysis.fit.efficiency.EfficiencyResult`).
        adjusted: ``points`` with ``glue_adjusted``, moved along the compute slope to ``reference_gflops``.
        time_curve: the time trend at ``reference_gflops``: ``release_date``, ``fit``, ``lower``, ``upper``.
        reference_gflops: the models' median compute (geometric), GFLOPs per example.
    """

    points: pd.DataFrame
    trend: TrendResult
    curve: pd.DataFrame
    efficiency: EfficiencyResult
    adjusted: pd.DataFrame
    time_curve: pd.DataFrame
    reference_gflops: float

    @property
    def n_models(self) -> int:
        return len(self.points)

    @property
    def n_approximate(self) -> int:
        """Rows read off the figure."""
        return int((self.points["raw_value_kind"] == "approximate").sum())

    @property
    def n_noted(self) -> int:
        """Rows with a note (where a paper gives a different number)."""
        return int((self.points["note"].fillna("") != "").sum())

    @property
    def frontier(self) -> pd.DataFrame:
        """The Pareto-optimal models, cheapest first."""
        return self.points[self.points["on_frontier"]].sort_values("gflops")

    @property
    def ranked(self) -> pd.DataFrame:
        """The models from furthest above the trend to furthest below."""
        return self.points.sort_values("residual", ascending=False)

    @property
    def best(self) -> pd.Series:
        return self.ranked.iloc[0]

    @property
    def worst(self) -> pd.Series:
        return self.ranked.iloc[-1]

    @property
    def first_year(self) -> int:
        return int(self.points["release_date"].min().year)

    @property
    def last_year(self) -> int:
        return int(self.points["release_date"].max().year)

    @property
    def frontier_names(self) -> str:
        return names_list(self.frontier["name"])

    @property
    def frontier_first_year(self) -> int:
        """The release year of the oldest model on the frontier."""
        return int(self.frontier["release_date"].dt.year.min())

    @property
    def slope_statement(self) -> str:
        """``"4.2 GLUE points (95% CI ...)"``: the trend's gain per tenfold compute."""
        return with_interval(self.trend.slope, *self.trend.ci["slope"], unit="GLUE points")

    @property
    def slope_excludes_zero(self) -> bool:
        """Whether the slope's bootstrap interval lies entirely on one side of zero."""
        low, high = self.trend.ci["slope"]
        return bool(low > 0 or high < 0)

    @property
    def efficiency_statement(self) -> str:
        """GLUE points gained per year at fixed compute, with its interval."""
        return with_interval(self.efficiency.params["year_slope"], *self.efficiency.ci["year_slope"],
                             unit="GLUE points per year")

    @property
    def compute_factor_statement(self) -> str:
        """How many times less compute the same GLUE needed one year later, with its interval."""
        low, high = self.efficiency.ci["compute_factor_per_year"]
        return (f"{number(self.efficiency.params['compute_factor_per_year'], 2)}× "
                f"({LEVEL:.0%} CI {number(low, 2)}× to {number(high, 2)}×)")

    @property
    def compute_slope_statement(self) -> str:
        """The compute slope of the two-covariate fit, with its interval."""
        return with_interval(self.efficiency.params["compute_slope"], *self.efficiency.ci["compute_slope"],
                             unit="GLUE points")

    def data_table(self) -> Markdown:
        """The models, ranked by their distance from the trend."""
        ranked = self.ranked
        return markdown_table(
            ranked.assign(month=ranked["release_date"].dt.strftime("%Y-%m")),
            columns={"name": "Model", "month": "Released", "gflops": "GFLOPs per example", "glue": "GLUE score",
                     "residual": "Above trend (points)", "on_frontier": "Pareto frontier", "raw_value_kind": "Values"},
            formats={"gflops": lambda v: format_value(v, 2), "glue": lambda v: format_value(v, 3),
                     "residual": lambda v: format_signed(v, decimals=1, plus=True)},
        )


@functools.cache
def pretraining_chapter() -> PretrainingChapter:
    """Chapter 1: GLUE vs inference GFLOPs per example, joined with release dates from ``models``."""
    table = load_table("glue_pretraining")
    models = load_table("models")[["model_id", "family", "release_date"]]
    frame = table.merge(models, on="model_id", how="left", validate="one_to_one")
    points = provenance_columns(frame).assign(
        name=frame["label"],
        gflops=frame["inference_gflops"].astype(float),
        glue=frame["glue_score"].astype(float),
        release_date=month_start(frame["release_date"]),
    )
    gflops, glue = points["gflops"].to_numpy(), points["glue"].to_numpy()
    trend = LogLinearTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED).fit(gflops, glue)
    points["residual"] = trend.residuals(gflops, glue)
    points["on_frontier"] = pareto_frontier(gflops, glue)
    grid = np.geomspace(gflops.min() / GRID_MARGIN, gflops.max() * GRID_MARGIN, GRID_POINTS)
    low, high = trend.interval(grid, level=LEVEL)
    curve = pd.DataFrame({"gflops": grid, "fit": trend.predict(grid), "lower": low, "upper": high})

    efficiency = EfficiencyTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED, level=LEVEL).fit(
        gflops, decimal_year(points["release_date"]), glue)
    reference = float(10 ** np.median(np.log10(gflops)))
    slope = efficiency.params["compute_slope"]
    adjusted = points.assign(glue_adjusted=glue - slope * (np.log10(gflops) - np.log10(reference)))
    dates = pd.date_range(points["release_date"].min(), points["release_date"].max(), periods=TIME_GRID_POINTS)
    return PretrainingChapter(points, trend, curve, efficiency, adjusted, _time_band(efficiency, reference, dates),
                              reference)


def _time_band(result: EfficiencyResult, reference_gflops: float, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Fitted GLUE at ``reference_gflops`` over ``dates`` with the bootstrap band of the time trend."""
    years = decimal_year(pd.Series(dates))
    gflops = np.full(len(years), reference_gflops)
    low, high = result.interval(gflops, years)
    return pd.DataFrame({"release_date": dates, "fit": result.predict(gflops, years), "lower": low, "upper": high})
