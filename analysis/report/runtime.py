"""What the chapters of a generated report call: ``report = load_report()``, then its parts.

``load_report`` reads ``report.yml`` and the runs table beside it, validated exactly as ``atlas fit``
validates them. The :class:`Report` it returns holds the runs, the lazily fitted approaches
(:class:`analysis.report.fits.ReportFits`) and what several parts share (published laws, residuals,
the allocation budgets); the chapters read numbers through its parts, one job each:

* ``report.tables`` (:class:`analysis.report.tables.ReportTables`): every table;
* ``report.text`` (:class:`analysis.report.sentences.ReportText`): every sentence;
* ``report.charts`` (:class:`analysis.report.charts.ReportCharts`): every chart.

A fit the data cannot support is *declined*: its outcome carries a plain-language reason instead
of a result, and the tables and sentences say so rather than print a number that means nothing.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.fit import ComputeOptimalResult, ParametricLossResult, TrainingRuns
from analysis.fit.laws import ParametricLaw
from analysis.published import PublishedLaw, published_laws
from analysis.report.fits import THIS_FIT, FitOutcome, ReportFits, cache_file
from analysis.report.sentences import ReportText
from analysis.report.settings import SETTINGS_FILE, ReportSettings, read_runs
from analysis.report.tables import ReportTables

if TYPE_CHECKING:
    from analysis.report.charts import ReportCharts

__all__ = ["FitOutcome", "Report", "load_report"]


def load_report(settings_path: str | Path = SETTINGS_FILE) -> Report:
    """Read a report's settings and runs (paths in the settings are relative to its folder)."""
    settings_path = Path(settings_path)
    return Report(ReportSettings.read(settings_path), settings_path.parent)


class Report:
    """The runs of one report, their fits, and the parts that turn them into tables, text and charts.

    Args:
        settings: column mapping and fitting options.
        root: the report folder, against which ``settings.runs`` is resolved.
    """

    def __init__(self, settings: ReportSettings, root: str | Path = ".") -> None:
        self.settings = settings
        self.root = Path(root)
        self.runs: TrainingRuns = read_runs(settings, self.root / settings.runs)
        """All runs of the table, validated (arrays of shape ``(n_runs,)``)."""
        self.fits = ReportFits(settings, self.runs, cache_file(settings, self.root))
        self.tables = ReportTables(self)
        self.text = ReportText(self)

    @cached_property
    def charts(self) -> ReportCharts:
        """Every chart (:class:`analysis.report.charts.ReportCharts`), made on first use: the charts import
        Altair (about 0.2 s), which a chapter without a chart need not wait for."""
        from analysis.report.charts import ReportCharts

        return ReportCharts(self)

    @property
    def parametric(self) -> FitOutcome[ParametricLossResult]:
        """Approach 3 (:attr:`ReportFits.parametric`)."""
        return self.fits.parametric

    @property
    def isoflop(self) -> FitOutcome[ComputeOptimalResult]:
        """Approach 2 (:attr:`ReportFits.isoflop`)."""
        return self.fits.isoflop

    @property
    def envelope(self) -> FitOutcome[ComputeOptimalResult]:
        """Approach 1 analogue (:attr:`ReportFits.envelope`)."""
        return self.fits.envelope

    @property
    def n_runs(self) -> int:
        """Number of runs in the table."""
        return len(self.runs)

    @property
    def level_percent(self) -> str:
        """The interval level as a label, e.g. ``95%``."""
        return f"{self.settings.level * 100:g}%"

    @cached_property
    def published(self) -> dict[str, PublishedLaw]:
        """Every published parametric law of the package's ``scaling_laws`` table, by law id."""
        return {law_id: law for law_id, law in published_laws().items() if law.is_parametric}

    def laws_on_these_runs(self) -> dict[str, ParametricLaw]:
        """This report's fit (when there is one) and the published laws: label -> law."""
        laws: dict[str, ParametricLaw] = {}
        if self.parametric.result is not None:
            laws[THIS_FIT] = self.parametric.result.law
        laws.update({law.description: law.law for law in self.published.values()})
        return laws

    def residuals(self) -> pd.DataFrame:
        """Log-loss residuals of every law on the fitted runs, one row per (run, law).

        Columns: ``fit`` (label), ``N`` (parameters), ``C`` (FLOP), ``loss`` and ``predicted``
        (nats/token), ``residual`` (log observed minus log predicted) and ``source``.
        """
        runs = self.fits.fitted_runs
        sources = {law.description: law.citation for law in self.published.values()} | {THIS_FIT: self.settings.runs}
        frames = []
        for label, law in self.laws_on_these_runs().items():
            predicted = law.loss(runs.N, runs.D)
            frames.append(pd.DataFrame({
                "fit": label, "N": runs.N, "C": runs.C, "loss": runs.loss, "predicted": predicted,
                "residual": np.log(runs.loss) - np.log(predicted), "source": sources[label],
            }))
        return pd.concat(frames, ignore_index=True)

    def rms_residuals(self) -> pd.Series:
        """Root mean square of the log-loss residuals of each law on the fitted runs, by label."""
        return self.residuals().groupby("fit", sort=False)["residual"].apply(lambda r: float(np.sqrt(np.mean(r**2))))
