"""Chapter 1: GLUE score against inference compute per example, and how fast efficiency improved."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.chapters.common import (
    N_BOOTSTRAP,
    SEED,
    date_at_decimal_year,
    decimal_year,
    fixed,
    fixed_with_interval,
    month_start,
    provenance_columns,
)
from analysis.data import load_table
from analysis.fit import LogLinearTrend, TrendResult, pareto_frontier
from analysis.fit.efficiency import EfficiencyResult, EfficiencyTrend
from analysis.tables import markdown_table
from analysis.text import LEVEL, bootstrap_interval, format_signed, format_value, names_list

FIGURE_SOURCE = "desislavov2023trends"
"""The paper whose figure chapter 1 rebuilds; its approximate rows are read off that figure."""
TIME_GRID_POINTS = 40
DEV_SET_SCORES = ("elmo",)
"""Models whose GLUE score is a dev-set score that the source table lists among test-set scores (the row's note in
``glue_pretraining.csv`` says so)."""
PEER_FACTOR = 1.25
"""Models within this factor of the reference compute count as having "about the same compute"."""


@dataclass(frozen=True)
class PretrainingChapter:
    """Everything chapter 1 shows.

    Attributes:
        points: one row per model: ``model_id``, ``name``, ``family``, ``gflops`` (GFLOPs per
            example), ``glue`` (points), ``release_date``, ``year`` (decimal year, middle of the
            release month), ``residual`` (points above the trend), ``on_frontier``, provenance
            (``source``, ``source_key``, ``value_kind``, ``raw_value_kind``, ``note``).
        trend: the log-linear trend of GLUE on GFLOPs (:class:`analysis.fit.TrendResult`).
        efficiency: GLUE on log-compute and release date (:class:`analysis.fit.efficiency.EfficiencyResult`).
        reference_gflops: the models' median compute (geometric), GFLOPs per example.
    """

    points: pd.DataFrame
    trend: TrendResult
    efficiency: EfficiencyResult
    reference_gflops: float

    @property
    def n_models(self) -> int:
        return len(self.points)

    @property
    def n_approximate(self) -> int:
        """Rows not copied from a table."""
        return int((self.points["raw_value_kind"] == "approximate").sum())

    @property
    def n_exact(self) -> int:
        return self.n_models - self.n_approximate

    @property
    def n_noted(self) -> int:
        """Rows with a note (where a paper gives a different number)."""
        return int((self.points["note"].fillna("") != "").sum())

    @property
    def read_off_figure(self) -> pd.DataFrame:
        """Approximate rows whose values are read off the figure itself."""
        approximate = self.points[self.points["raw_value_kind"] == "approximate"]
        return approximate[approximate["source_key"] == FIGURE_SOURCE]

    @property
    def borrowed(self) -> pd.DataFrame:
        """Approximate rows copied from a paper but with a value taken from another model (see their notes)."""
        approximate = self.points[self.points["raw_value_kind"] == "approximate"]
        return approximate[approximate["source_key"] != FIGURE_SOURCE]

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

    def mean_residual(self, year: int, *, test_set_only: bool = False) -> float:
        """Mean distance from the trend (GLUE points) of the models released in ``year``; ``test_set_only`` leaves
        out the dev-set scores (:data:`DEV_SET_SCORES`)."""
        points = self.points[~self.points["model_id"].isin(DEV_SET_SCORES)] if test_set_only else self.points
        return float(points.loc[points["release_date"].dt.year == year, "residual"].mean())

    @property
    def dev_set_statement(self) -> str:
        """The dev-set scores among the test-set ones, and what leans on them: the largest residual below the trend
        and the earliest year's mean residual, given without them ("" when no model of the table has one)."""
        dev = self.points[self.points["model_id"].isin(DEV_SET_SCORES)]
        if dev.empty:
            return ""
        single = len(dev) == 1
        names = names_list(dev["name"])
        text = (f"{names}’s GLUE {'score is a dev-set score' if single else 'scores are dev-set scores'}, which the "
                f"source table lists among test-set scores (the row’s note in the data file says so).")
        clauses = []
        if self.worst["model_id"] in set(dev["model_id"]):
            clauses.append(f"The largest residual below the trend is {self.worst['name']}’s")
        year = self.first_year
        if (dev["release_date"].dt.year == year).any():
            full, without = self.mean_residual(year), self.mean_residual(year, test_set_only=True)
            side = "below" if without < 0 else "above"
            clauses.append(f"without {'it' if single else 'them'} the models of {year} lie {fixed(abs(without))} points "
                           f"{side} the trend on average, not {fixed(abs(full))}")
        if clauses:
            sentence = ", and ".join(clauses)
            text += " " + sentence[0].upper() + sentence[1:] + "."
        return text

    @property
    def peers(self) -> pd.DataFrame:
        """The models with about the same compute: within :data:`PEER_FACTOR` of the reference compute."""
        ratio = self.points["gflops"] / self.reference_gflops
        return self.points[(ratio <= PEER_FACTOR) & (ratio >= 1 / PEER_FACTOR)].sort_values(["release_date", "glue"])

    @property
    def peers_statement(self) -> str:
        """``"ELMo, GPT-1 and BERT-Base (2018) score 71.2 to 79.6, ELECTRA-Base (2020) 82.7"``: the peers by year."""
        parts = []
        for year, group in self.peers.groupby(self.peers["release_date"].dt.year):
            low, high = group["glue"].min(), group["glue"].max()
            scores = fixed(low) if low == high else f"{fixed(low)} to {fixed(high)}"
            verb = "score " if not parts else ""
            parts.append(f"{names_list(group['name'])} ({year}) {verb}{scores}")
        return ", ".join(parts)

    @property
    def peers_range(self) -> str:
        """The compute range of :attr:`peers`: ``"26 to 30"`` (GFLOPs per example)."""
        return f"{format_value(self.peers['gflops'].min(), 2)} to {format_value(self.peers['gflops'].max(), 2)}"

    @property
    def slope_statement(self) -> str:
        """``"3.4 GLUE points (95% bootstrap interval −2.1 to 6.0)"``: the trend's gain per tenfold compute."""
        return fixed_with_interval(self.trend.slope, *self.trend.ci["slope"], unit="GLUE points")

    @property
    def slope_excludes_zero(self) -> bool:
        """Whether the slope's bootstrap interval lies entirely on one side of zero."""
        low, high = self.trend.ci["slope"]
        return bool(low > 0 or high < 0)

    @property
    def efficiency_statement(self) -> str:
        """GLUE points gained per year at fixed compute, with its interval."""
        return fixed_with_interval(self.efficiency.params["year_slope"], *self.efficiency.ci["year_slope"],
                                   unit="GLUE points per year")

    @property
    def compute_factor_statement(self) -> str:
        """How many times less compute the same GLUE needed one year later, with its interval."""
        low, high = self.efficiency.ci["compute_factor_per_year"]
        return (f"{fixed(self.efficiency.params['compute_factor_per_year'])}× "
                f"({bootstrap_interval(low, high, lambda v: fixed(v) + '×')})")

    @property
    def compute_slope_statement(self) -> str:
        """The compute slope of the two-covariate fit, with its interval."""
        return fixed_with_interval(self.efficiency.params["compute_slope"], *self.efficiency.ci["compute_slope"],
                                   unit="GLUE points")

    @property
    def compute_date_correlation(self) -> float:
        """Pearson correlation of log-compute with release date across the models (negative: newer is cheaper)."""
        return float(np.corrcoef(np.log10(self.points["gflops"]), self.points["year"])[0, 1])

    def data_table(self) -> Markdown:
        """The models, ranked by their distance from the trend."""
        ranked = self.ranked
        return markdown_table(
            ranked.assign(month=ranked["release_date"].dt.strftime("%Y-%m")),
            columns={"name": "Model", "month": "Released", "gflops": "GFLOPs per example", "glue": "GLUE score",
                     "residual": "Above trend (points)", "on_frontier": "Pareto frontier", "raw_value_kind": "Values"},
            formats={"gflops": lambda v: format_value(v, 2), "glue": lambda v: fixed(v),
                     "residual": lambda v: format_signed(v, decimals=1, plus=True)},
        )


@functools.cache
def pretraining_chapter() -> PretrainingChapter:
    """Chapter 1: GLUE vs inference GFLOPs per example, joined with release dates from ``models``."""
    table = load_table("glue_pretraining")
    models = load_table("models")[["model_id", "family", "release_date"]]
    frame = table.merge(models, on="model_id", how="left", validate="one_to_one")
    release = month_start(frame["release_date"])
    points = provenance_columns(frame).assign(
        name=frame["label"],
        gflops=frame["inference_gflops"].astype(float),
        glue=frame["glue_score"].astype(float),
        release_date=release,
        year=decimal_year(release),
    )
    gflops, glue = points["gflops"], points["glue"]
    trend = LogLinearTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED).fit(gflops, glue)
    points["residual"] = trend.residuals(gflops, glue)
    points["on_frontier"] = pareto_frontier(gflops, glue)
    efficiency = EfficiencyTrend(n_bootstrap=N_BOOTSTRAP, seed=SEED, level=LEVEL).fit(gflops, points["year"], glue)
    reference = float(10 ** np.median(np.log10(gflops)))
    return PretrainingChapter(points, trend, efficiency, reference)


def time_band(result: EfficiencyResult, reference_gflops: float, years: pd.Series,
              n: int = TIME_GRID_POINTS) -> pd.DataFrame:
    """Fitted GLUE at ``reference_gflops`` (GFLOPs per example) from the first to the last of
    ``years`` (decimal years), with the bootstrap band of the time trend: ``n`` rows of
    ``year``, ``release_date`` (:func:`date_at_decimal_year`), ``fit``, ``lower``, ``upper``."""
    grid = np.linspace(float(np.min(years)), float(np.max(years)), n)
    compute = np.full(n, reference_gflops)
    low, high = result.interval(compute, grid)
    return pd.DataFrame({"year": grid, "release_date": date_at_decimal_year(grid), "fit": result.predict(compute, grid),
                         "lower": low, "upper": high})
