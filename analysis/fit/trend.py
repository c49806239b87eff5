"""Trend tools for the efficiency chapters: log-linear and power-law fits, residuals,
"effective size" and the Pareto frontier.

* :class:`LogLinearTrend`: ``y = intercept + slope * log10(x)`` (e.g. benchmark score against
  FLOPs or parameters).
* :class:`PowerLawTrend`: ``y = coefficient * x**exponent``, fitted as a straight line in
  ``log10 y`` against ``log10 x``.

Both are ordinary least squares with a pairs bootstrap (resampling points with replacement)
for confidence bands of the fitted line and of its inverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.errors import AtlasError
from analysis.fit.bootstrap import chunked_counts, percentile_interval
from analysis.fit.laws import weighted_least_squares


@dataclass(frozen=True)
class TrendResult:
    """A fitted straight line ``v = intercept + slope * u`` in transformed coordinates.

    For :class:`LogLinearTrend` ``u = log10 x`` and ``v = y``; for :class:`PowerLawTrend`
    ``u = log10 x`` and ``v = log10 y``. Methods take and return values in the original units.

    Attributes:
        kind: ``"log-linear"`` or ``"power-law"``.
        intercept, slope: point estimates in transformed coordinates.
        ci: percentile intervals ``{"intercept": (lo, hi), "slope": (lo, hi)}`` (empty without bootstrap).
        n_points: points fitted; r_squared: coefficient of determination in transformed coordinates.
        level: interval level; samples: bootstrap ``(intercept, slope)`` pairs, shape ``(S, 2)``.
    """

    kind: str
    intercept: float
    slope: float
    ci: dict[str, tuple[float, float]]
    n_points: int
    r_squared: float
    level: float
    samples: np.ndarray = field(repr=False)

    @property
    def params(self) -> dict[str, float]:
        """Point estimates. Power law: also ``coefficient = 10**intercept`` and ``exponent = slope``."""
        params = {"intercept": self.intercept, "slope": self.slope}
        if self.kind == "power-law":
            params |= {"coefficient": 10.0**self.intercept, "exponent": self.slope}
        return params

    def _to_v(self, y: Any) -> np.ndarray:
        y = np.asarray(y, float)
        return np.log10(y) if self.kind == "power-law" else y

    def _from_v(self, v: np.ndarray) -> np.ndarray:
        return 10.0**v if self.kind == "power-law" else v

    def predict(self, x: Any) -> np.ndarray:
        """Trend value at ``x`` (same shape as ``x``)."""
        return self._from_v(self.intercept + self.slope * np.log10(np.asarray(x, float)))

    def residuals(self, x: Any, y: Any) -> np.ndarray:
        """How far each point lies above (+) or below (-) the trend: ``y - predict(x)``
        for log-linear, ``log10(y / predict(x))`` (decades) for power law."""
        return self._to_v(y) - (self.intercept + self.slope * np.log10(np.asarray(x, float)))

    def inverse(self, y: Any) -> np.ndarray:
        """Effective size: the ``x`` (cost) at which the trend reaches ``y``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return 10.0 ** ((self._to_v(y) - self.intercept) / self.slope)

    def _require_samples(self) -> None:
        if self.samples.shape[0] == 0:
            raise ValueError("no bootstrap samples: fit with n_bootstrap > 0 to get intervals")

    def interval(self, x: Any, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap percentile band ``(lo, hi)`` of the trend line at ``x`` (arrays shaped like ``x``)."""
        self._require_samples()
        x = np.asarray(x, float)
        u = np.log10(x).reshape(1, -1)
        lines = self.samples[:, :1] + self.samples[:, 1:] * u
        lo, hi = percentile_interval(lines, level or self.level)
        return self._from_v(lo).reshape(x.shape), self._from_v(hi).reshape(x.shape)

    def inverse_interval(self, y: Any, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap percentile band ``(lo, hi)`` of the effective size ``inverse(y)``."""
        self._require_samples()
        y = np.asarray(y, float)
        v = self._to_v(y).reshape(1, -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            exponents = (v - self.samples[:, :1]) / self.samples[:, 1:]
        lo, hi = percentile_interval(exponents, level or self.level)
        return (10.0**lo).reshape(y.shape), (10.0**hi).reshape(y.shape)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "estimator": self.kind,
            "params": {k: float(v) for k, v in self.params.items()},
            "ci": {k: [float(lo), float(hi)] for k, (lo, hi) in self.ci.items()},
            "level": self.level,
            "n_points": self.n_points,
            "r_squared": float(self.r_squared),
        }

    def summary(self) -> str:
        """A readable text summary."""
        form = "y = intercept + slope * log10(x)" if self.kind == "log-linear" else "y = 10^intercept * x^slope"
        lines = [f"{self.kind} trend: {form}", f"points: {self.n_points}   R^2: {self.r_squared:.4f}"]
        for name in ("intercept", "slope"):
            value = getattr(self, name)
            lo, hi = self.ci.get(name, (np.nan, np.nan))
            band = f"   [{lo:.4g}, {hi:.4g}] ({self.level:.0%})" if name in self.ci else ""
            lines.append(f"{name:>10}: {value:.4g}{band}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _TrendFit:
    n_bootstrap: int = 2000
    seed: int | None = 0
    level: float = 0.95
    chunk_size: int = 2000
    kind = ""

    def fit(self, x: Any, y: Any) -> TrendResult:
        """Fit the trend to points ``(x, y)`` (1-D arrays of equal length, ``x > 0``).

        Raises:
            AtlasError: shapes differ, values are not finite, ``x`` (or ``y`` for a power law)
                is not positive, or fewer than 3 points / a single distinct ``x``.
        """
        x = np.asarray(x, dtype=float).ravel()
        y = np.asarray(y, dtype=float).ravel()
        if x.shape != y.shape:
            raise AtlasError(f"x and y differ in length: {x.size} and {y.size}")
        for name, values, positive in (("x", x, True), ("y", y, self.kind == "power-law")):
            bad = ~np.isfinite(values) | ((values <= 0) if positive else False)
            if np.any(bad):
                i = int(np.flatnonzero(bad)[0])
                need = "finite and positive" if positive else "finite"
                raise AtlasError(f"point {i}: {name} = {values[i]!r} must be {need}")
        if x.size < 3 or np.unique(x).size < 2:
            raise AtlasError(f"a trend needs at least 3 points and 2 distinct x values, got {x.size}")
        u = np.log10(x)
        v = np.log10(y) if self.kind == "power-law" else y
        design = np.column_stack([np.ones_like(u), u])
        intercept, slope = (float(t) for t in weighted_least_squares(design, v, np.ones(x.size)))
        fitted = intercept + slope * u
        total = np.sum((v - v.mean()) ** 2)
        r_squared = 1.0 - np.sum((v - fitted) ** 2) / total if total > 0 else 1.0
        samples = np.empty((0, 2))
        ci: dict[str, tuple[float, float]] = {}
        if self.n_bootstrap:
            chunks = [
                weighted_least_squares(design, v, counts)
                for counts in chunked_counts(self.seed, x.size, self.n_bootstrap, self.chunk_size)
            ]
            samples = np.concatenate(chunks)
            samples = samples[np.isfinite(samples[:, 1])]  # resamples with a single distinct x
            for i, name in enumerate(("intercept", "slope")):
                lo, hi = percentile_interval(samples[:, i], self.level)
                ci[name] = (float(lo), float(hi))
        return TrendResult(
            kind=self.kind, intercept=intercept, slope=slope, ci=ci, n_points=int(x.size),
            r_squared=float(r_squared), level=self.level, samples=samples,
        )


@dataclass(frozen=True)
class LogLinearTrend(_TrendFit):
    """``y = intercept + slope * log10(x)`` by least squares, with a pairs bootstrap.

    Args:
        n_bootstrap: resamples of points (0 = no bands); seed: generator seed; level: band level.
    """

    kind = "log-linear"


@dataclass(frozen=True)
class PowerLawTrend(_TrendFit):
    """``y = 10**intercept * x**slope``, least squares on ``log10 y`` against ``log10 x``, pairs bootstrap.

    Args:
        n_bootstrap: resamples of points (0 = no bands); seed: generator seed; level: band level.
    """

    kind = "power-law"


def pareto_frontier(cost: Any, score: Any) -> np.ndarray:
    """Boolean mask of the points on the Pareto frontier (lower cost and higher score are better).

    A point is on the frontier when no other point has cost ``<=`` and score ``>=`` with at
    least one strict. Exact duplicates of a frontier point are all on it. ``O(n log n)``.

    Raises:
        AtlasError: lengths differ or a value is not finite.
    """
    cost = np.asarray(cost, dtype=float).ravel()
    score = np.asarray(score, dtype=float).ravel()
    if cost.shape != score.shape:
        raise AtlasError(f"cost and score differ in length: {cost.size} and {score.size}")
    if not (np.all(np.isfinite(cost)) and np.all(np.isfinite(score))):
        raise AtlasError("cost and score must be finite")
    order = np.lexsort((-score, cost))  # by cost, then best score first
    mask = np.zeros(cost.size, dtype=bool)
    best_cheaper = -np.inf  # best score among strictly cheaper points
    i = 0
    while i < order.size:
        j = i
        while j < order.size and cost[order[j]] == cost[order[i]]:
            j += 1
        group = order[i:j]
        top = score[group[0]]
        if top > best_cheaper:
            mask[group[score[group] == top]] = True
        best_cheaper = max(best_cheaper, top)
        i = j
    return mask
