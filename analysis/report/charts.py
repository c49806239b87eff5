"""Every chart of a generated report (the chapter-5 charts of the book, on the report's runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.charts import parametric_loss
from analysis.report.fits import THIS_FIT

if TYPE_CHECKING:
    from analysis.report.runtime import Report

NO_MARKERS = pd.DataFrame(columns=["name", "N", "C", "source", "value_kind"]).astype({"N": float, "C": float})
"""The chapter-5 charts can mark named models; a report on someone's own runs marks none."""


class ReportCharts:
    """The charts of one report (:class:`analysis.report.runtime.Report`); a declined fit gives a sentence instead."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def runs(self) -> pd.DataFrame:
        """The fitted runs as the charts take them: ``N, D, C, loss`` and ``budget`` (FLOP, NaN if none)."""
        frame = self.report.fits.fitted_runs.to_frame()
        frame["budget"] = self.report.fits.run_budgets()
        return frame

    def isoloss(self) -> alt.LayerChart | Markdown:
        """IsoLoss contours of the fitted law over (C, N), the runs and the efficient frontier."""
        outcome = self.report.parametric
        if outcome.result is None:
            return Markdown(f"No chart: the parametric fit was declined ({outcome.reason}).")
        return parametric_loss.isoloss_frontier_chart(
            self.runs(), outcome.result.law, NO_MARKERS, source=self.report.settings.runs, source_note=None)

    def isoflop(self) -> alt.LayerChart | Markdown:
        """Loss against model size per FLOP budget, with the fitted law along each budget."""
        outcome = self.report.parametric
        if outcome.result is None:
            return Markdown(f"No chart: the parametric fit was declined ({outcome.reason}).")
        if not np.isfinite(self.report.fits.run_budgets()).any():
            return Markdown("No chart: no FLOP budget is shared by several runs, so there are no IsoFLOP slices to draw.")
        return parametric_loss.isoflop_slices_chart(
            self.runs(), outcome.result.law, NO_MARKERS, source=self.report.settings.runs, source_note=None)

    def residuals(self, laws: str = "this") -> alt.FacetChart | Markdown:
        """Log-loss residuals against compute: of this fit (``"this"``) or of every law (``"all"``)."""
        residuals = self.report.residuals()
        if laws == "this":
            residuals = residuals[residuals["fit"] == THIS_FIT]
        if residuals.empty:
            return Markdown(f"No residuals: the parametric fit was declined ({self.report.parametric.reason}).")
        return parametric_loss.residual_chart(residuals)
