"""Efficiency over time: a score regressed on log-compute *and* release date, with a row bootstrap.

``score = intercept + compute_slope * log10(compute) + year_slope * (year - reference_year)``.

The question "how much did the score reached at fixed compute move per year" needs both covariates
(:class:`analysis.fit.LogLinearTrend` has one). Holding compute fixed, ``year_slope`` is the score
gained per year; holding the score fixed, ``log10(compute)`` falls by ``year_slope / compute_slope``
per year, so the same score needs ``compute_factor_per_year = 10**(year_slope / compute_slope)``
times less compute each year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.errors import AtlasError
from analysis.fit.bootstrap import chunked_counts, percentile_interval
from analysis.fit.laws import weighted_least_squares
from analysis.fit.serialise import json_ready

COEFFICIENTS = ("intercept", "compute_slope", "year_slope")
"""The fitted coefficients, in the column order of :attr:`EfficiencyResult.draws`."""


@dataclass(frozen=True)
class EfficiencyResult:
    """A fitted :class:`EfficiencyTrend`.

    Attributes:
        params: ``intercept`` (score at ``reference_year`` and 1 unit of compute), ``compute_slope``
            (score points per decade of compute), ``year_slope`` (score points per year at fixed
            compute) and the derived ``compute_factor_per_year``.
        ci: percentile bootstrap intervals of the same names (:attr:`level`).
        reference_year: decimal year the date term is centred on (the mean release date, to 0.1).
        n_points: models fitted; n_bootstrap: resamples drawn; n_degenerate: resamples skipped
            because their design was rank-deficient (e.g. every drawn row from one month).
        draws: bootstrap coefficients, shape ``(n_bootstrap - n_degenerate, 3)`` in
            :data:`COEFFICIENTS` order.
    """

    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    reference_year: float
    n_points: int
    n_bootstrap: int
    n_degenerate: int
    draws: np.ndarray = field(repr=False)
    level: float = 0.95
    seed: int | None = 0

    def predict(self, compute: Any, year: Any) -> np.ndarray:
        """Fitted score at ``compute`` (the fit's unit, e.g. GFLOPs per example) and decimal ``year`` (broadcast)."""
        p = self.params
        return (p["intercept"] + p["compute_slope"] * np.log10(compute)
                + p["year_slope"] * (np.asarray(year) - self.reference_year))

    def interval(self, compute: Any, year: Any) -> tuple[np.ndarray, np.ndarray]:
        """Percentile bootstrap band (:attr:`level`) of the fitted score; 1-D inputs of shape ``(m,)``."""
        log_c = np.log10(np.atleast_1d(np.asarray(compute, dtype=float)))[None, :]
        shift = (np.atleast_1d(np.asarray(year, dtype=float)) - self.reference_year)[None, :]
        d = self.draws
        values = d[:, 0:1] + d[:, 1:2] * log_c + d[:, 2:3] * shift
        low, high = percentile_interval(values, self.level)
        return low, high

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (non-finite numbers as ``None``)."""
        return json_ready({
            "estimator": "efficiency",
            "params": self.params,
            "ci": self.ci,
            "level": self.level,
            "reference_year": self.reference_year,
            "n_points": self.n_points,
            "n_bootstrap": self.n_bootstrap,
            "n_degenerate": self.n_degenerate,
            "seed": self.seed,
        })

    def summary(self) -> str:
        """A readable text summary: the model, estimates and intervals."""
        lines = [
            "Efficiency over time: score = intercept + compute_slope * log10(compute) "
            f"+ year_slope * (year - {self.reference_year:g})",
            f"points: {self.n_points}   bootstrap: {self.n_bootstrap} resamples "
            f"({self.n_degenerate} rank-deficient, skipped), {self.level:.0%} percentile intervals",
        ]
        for name, value in self.params.items():
            low, high = self.ci.get(name, (np.nan, np.nan))
            lines.append(f"{name:>24}: {value:.4g}   [{low:.4g}, {high:.4g}]")
        return "\n".join(lines)


@dataclass(frozen=True)
class EfficiencyTrend:
    """Least squares of a score on log10(compute) and release year, with a row bootstrap.

    Resamples whose design is rank-deficient are skipped and counted in ``n_degenerate``; the
    compute factor's interval only uses resamples with a positive compute slope, where "less
    compute for the same score" is defined.

    Args:
        n_bootstrap: resamples of the rows; seed: generator seed; level: interval coverage.
    """

    n_bootstrap: int = 2000
    seed: int | None = 0
    level: float = 0.95

    def fit(self, compute: Any, year: Any, score: Any) -> EfficiencyResult:
        """Fit arrays of shape ``(n,)``: compute per example (positive), decimal year, score (points).

        Raises:
            AtlasError: the arrays differ in length, or fewer points than coefficients plus one.
        """
        compute, year, score = (np.asarray(a, dtype=float).ravel() for a in (compute, year, score))
        if not compute.shape == year.shape == score.shape:
            raise AtlasError(f"compute, year and score differ in length: {compute.size}, {year.size}, {score.size}")
        if score.size <= len(COEFFICIENTS):
            raise AtlasError(f"the efficiency trend needs more than {len(COEFFICIENTS)} points, got {score.size}")
        reference_year = float(np.round(year.mean(), 1))
        design = np.column_stack([np.ones_like(compute), np.log10(compute), year - reference_year])
        coef = weighted_least_squares(design, score, np.ones_like(score))
        draws = np.concatenate([weighted_least_squares(design, score, counts)
                                for counts in chunked_counts(self.seed, score.size, self.n_bootstrap)])
        degenerate = int(np.isnan(draws[:, 0]).sum())
        draws = draws[~np.isnan(draws[:, 0])]
        params = dict(zip(COEFFICIENTS, map(float, coef), strict=True))
        params["compute_factor_per_year"] = float(10 ** (coef[2] / coef[1]))
        ci = {name: _interval(draws[:, i], self.level) for i, name in enumerate(COEFFICIENTS)}
        positive = draws[:, 1] > 0
        ci["compute_factor_per_year"] = _interval(10 ** (draws[positive, 2] / draws[positive, 1]), self.level)
        return EfficiencyResult(params, ci, reference_year, int(score.size), self.n_bootstrap, degenerate, draws,
                                self.level, self.seed)


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    low, high = percentile_interval(values, level)
    return float(low), float(high)
