"""Every chart of a generated report: the chapter-5 charts of the book on the report's runs, and the IsoFLOP fit.

A chart embeds the runs it draws, so with many runs the charts draw a random sample of them
(:data:`MAX_CHART_RUNS`, the same runs in every chart; the report says so) while every number and
table uses all of them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.charts import parametric_loss
from analysis.report.fits import THIS_FIT
from analysis.text import format_power, format_si

if TYPE_CHECKING:
    from analysis.report.runtime import Report

NO_MARKERS = pd.DataFrame(columns=["name", "N", "C", "source", "value_kind"]).astype({"N": float, "C": float})
"""The chapter-5 charts can mark named models; a report on someone's own runs marks none."""

MAX_CHART_RUNS = 1200
"""Runs a chart draws at most: the residual chart of every law draws each run once per law, and four laws must
stay under the 5,000 rows Altair embeds in a chart; a page also stays quick to draw."""

CHART_WIDTH = 560
"""Width (pixels) of a chart that has the report's column to itself."""

PROFILE_POINTS = 60


class ReportCharts:
    """The charts of one report (:class:`analysis.report.runtime.Report`); a declined fit gives a sentence instead."""

    def __init__(self, report: Report) -> None:
        self.report = report

    @cached_property
    def _shown(self) -> np.ndarray:
        """Indices of the fitted runs the charts draw: all, or a seeded random sample of :data:`MAX_CHART_RUNS`."""
        n = len(self.report.fits.fitted_runs)
        if n <= MAX_CHART_RUNS:
            return np.arange(n)
        return np.sort(np.random.default_rng(0).choice(n, size=MAX_CHART_RUNS, replace=False))

    def sample_size(self) -> tuple[int, int]:
        """``(runs drawn, runs fitted)``."""
        return int(self._shown.size), len(self.report.fits.fitted_runs)

    def runs(self) -> pd.DataFrame:
        """The runs the charts draw: ``N, D, C, loss`` and ``budget`` (FLOP, NaN if none)."""
        frame = self.report.fits.fitted_runs.to_frame()
        frame["budget"] = self.report.fits.run_budgets()
        return frame.iloc[self._shown].reset_index(drop=True)

    def isoloss(self) -> alt.LayerChart | Markdown:
        """IsoLoss contours of the fitted law over (C, N), the runs and the efficient frontier."""
        outcome = self.report.parametric
        if outcome.result is None:
            return Markdown(f"No chart: the parametric fit was declined ({outcome.reason}).")
        chart = parametric_loss.isoloss_frontier_chart(
            self.runs(), outcome.result.law, NO_MARKERS, source=self.report.settings.runs, source_note=None)
        return chart.properties(width=CHART_WIDTH)

    def isoflop(self) -> alt.LayerChart | Markdown:
        """Loss against model size per FLOP budget: the runs, the parametric law along each budget, and the IsoFLOP
        fit's own profile of each budget (dashed) with its optimum (a ring), the ones its exponent comes from."""
        outcome = self.report.parametric
        if outcome.result is None:
            return Markdown(f"No chart: the parametric fit was declined ({outcome.reason}).")
        runs = self.runs()
        if not np.isfinite(runs["budget"]).any():
            return Markdown("No chart: no FLOP budget is shared by several runs, so there are no IsoFLOP slices to draw.")
        chart = parametric_loss.isoflop_slices_chart(
            runs, outcome.result.law, NO_MARKERS, source=self.report.settings.runs, source_note=None)
        iso = self.report.isoflop.result
        if iso is None:
            return chart.properties(width=CHART_WIDTH)
        x, y = chart.layer[0].encoding.x, chart.layer[0].encoding.y
        profiles, optima = self._profiles(iso)
        method = "interpolated profile" if self.report.settings.isoflop_method == "interpolation" else "parabola"
        colour = chart.layer[0].encoding.color
        profile_layer = (
            alt.Chart(profiles).mark_line(strokeDash=[5, 3], strokeWidth=1.4)
            .encode(x=x, y=y, color=colour, detail="budget:O",
                    tooltip=[alt.Tooltip("slice:N", title=f"IsoFLOP fit: {method} of the budget"),
                             alt.Tooltip("N_label:N", title="Size"),
                             alt.Tooltip("loss:Q", title="Profile loss (nats/token)", format=".3f")])
        )
        optimum_layer = (
            alt.Chart(optima).mark_point(shape="circle", size=120, filled=False, strokeWidth=1.8)
            .encode(x=x, y=y, color=colour,
                    tooltip=[alt.Tooltip("slice:N", title="IsoFLOP optimum of the budget"),
                             alt.Tooltip("N_label:N", title="N_opt"),
                             alt.Tooltip("loss:Q", title="Loss at N_opt (nats/token)", format=".3f")])
        )
        description = (f"{chart.description} Dashed: the IsoFLOP fit's {method} of each budget it used, with a ring at "
                       "its minimum; the exponent a of the IsoFLOP fit comes from these minima.")
        return (chart + profile_layer + optimum_layer).properties(width=CHART_WIDTH, description=description)

    def _profiles(self, iso: object) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The IsoFLOP fit's profile over each used budget's sampled sizes, and its optima."""
        budgets = iso.budgets  # type: ignore[attr-defined]
        fitted = self.report.fits.fitted_runs
        labels = self.report.fits.run_budgets()
        curves, optima = [], []
        for row in budgets[budgets["included"]].itertuples(index=False):
            sizes = fitted.N[np.isclose(labels, row.C)]
            if sizes.size == 0:
                continue
            grid = np.geomspace(sizes.min(), sizes.max(), PROFILE_POINTS)
            loss = np.asarray(iso.profile(row.C, grid), dtype=float)  # type: ignore[attr-defined]
            curves.append(pd.DataFrame({"budget": row.C, "N": grid, "loss": loss}))
            optima.append({"budget": row.C, "N": row.N_opt, "loss": row.loss_opt})
        curve_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["budget", "N", "loss"])
        optimum_frame = pd.DataFrame(optima, columns=["budget", "N", "loss"])
        for frame in (curve_frame, optimum_frame):
            frame["slice"] = [format_power(b, unit="FLOP") for b in frame["budget"]]
            frame["N_label"] = [format_si(n) for n in frame["N"]]
        return curve_frame.dropna(subset=["loss"]), optimum_frame

    def residuals(self, laws: str = "this") -> alt.FacetChart | Markdown:
        """Log-loss residuals against compute: of this fit (``"this"``) or of every law (``"all"``)."""
        residuals = self.report.residuals()
        n = len(self.report.fits.fitted_runs)
        residuals = residuals[np.tile(np.isin(np.arange(n), self._shown), len(residuals) // max(n, 1))]
        if laws == "this":
            residuals = residuals[residuals["fit"] == THIS_FIT]
        if residuals.empty:
            return Markdown(f"No residuals: the parametric fit was declined ({self.report.parametric.reason}).")
        return parametric_loss.residual_chart(residuals)
