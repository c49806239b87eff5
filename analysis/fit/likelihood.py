"""Parametric loss by maximum likelihood with a Huber-shaped error density and a free scale.

The estimator of Besiroglu et al. (2024)'s Table 1, the replication of Hoffmann et al. (2022)'s
Approach 3: the law is ``L(N, D) = E + A / N**alpha + B / D**beta`` as in
:mod:`analysis.fit.parametric`, but the estimate maximises a likelihood instead of minimising a
Huber loss. Each run's log-loss residual ``r = log(loss) - log L(N, D)`` is taken to follow the
density ``exp(-huber_delta(r / s)) / (Z s)`` with a free scale ``s``, where ``huber_delta`` is the
Huber function (quadratic up to ``delta``, linear beyond) and ``Z`` its normalising constant. The
negative log-likelihood per run is

    ``mean(huber_delta(r / s)) + log(s) + log(Z)``.

What this objective is in practice. ``huber_delta(r / s) = huber_(delta s)(r) / s**2``, so for a
fixed scale it is a Huber loss with threshold ``delta * s``, and the best scale for given
residuals is ``s = delta * mean(|r|)`` while every ``|r|`` exceeds ``delta * s``. With
``delta = 1e-3`` and residuals of about one percent the threshold ``delta * s`` is near 1e-8:
every residual but those the fit makes exactly zero lies on the linear branch, and the profile
likelihood is ``log(mean|r|)`` plus a constant, to within ``delta**2`` per run. Maximising it is
therefore a least-absolute-deviation (median) regression of log loss, whose optimum is a vertex
where five residuals (one per parameter) vanish. A smooth optimiser stalls on such kinks, so the
fit minimises ``mean(w |r|)`` by sequential linear programming (:func:`least_absolute_fit`:
linearise ``r`` at the current point, solve the L1 problem inside a trust region exactly with
HiGHS, accept or shrink), started from the Huber-loss estimate of :class:`ParametricLossFit` and
from the best points of its variable-projection grid; the scale is then profiled exactly. The
maximum-likelihood point differs from that vertex by less than ``delta * s`` in every residual.

Results have the surface of :class:`analysis.fit.parametric.ParametricLossResult` (they are
one), with ``objective`` the negative log-likelihood per run, plus ``scale`` and
``mean_absolute_residual``. Bootstrap refits resample runs (seeded) and solve the same problem,
warm-started from the estimate.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import linprog, minimize_scalar
from scipy.special import erf, logsumexp, softmax

from analysis.errors import AtlasError
from analysis.fit.bootstrap import DEFAULT_CHUNK_SIZE, ProgressCallback, chunked_counts, percentile_interval
from analysis.fit.laws import PARAMETER_NAMES, ParametricLaw
from analysis.fit.parametric import (
    DEFAULT_EXPONENT_BOUNDS,
    DEFAULT_EXPONENT_GRID,
    ParametricLossFit,
    ParametricLossResult,
    projection_starts,
)
from analysis.fit.runs import TrainingRuns
from analysis.fit.serialise import json_ready

_TRUST_RADIUS = 0.05
"""Initial trust region of every log-parameter and exponent step."""
_MIN_RADIUS = 1e-11
_RELATIVE_TOL = 1e-13
"""Stop when the linear model predicts a relative decrease of the objective below this."""
_BASIN_RTOL = 1e-9
_BASIN_ATOL = 1e-4


def huber_log_density(x: np.ndarray, delta: float) -> np.ndarray:
    """Log of the standard Huber-shaped density ``exp(-huber_delta(x)) / Z`` at ``x`` (any shape)."""
    magnitude = np.abs(x)
    huber = np.where(magnitude <= delta, 0.5 * x * x, delta * (magnitude - 0.5 * delta))
    return -huber - math.log(huber_normaliser(delta))


def huber_normaliser(delta: float) -> float:
    """``Z = integral of exp(-huber_delta(x)) dx = sqrt(2 pi) erf(delta / sqrt 2) + 2 exp(-delta**2 / 2) / delta``."""
    return math.sqrt(2 * math.pi) * float(erf(delta / math.sqrt(2))) + 2 * math.exp(-0.5 * delta * delta) / delta


def _log_residuals(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray) -> np.ndarray:
    """``log(loss) - log L`` for ``theta = (log A, log B, log E, alpha, beta)``, shape ``(n,)``."""
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])
    return log_loss - logsumexp(terms, axis=0)


def _residual_jacobian(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """``d residual / d theta``, shape ``(n, 5)``: minus the softmax weights of the three terms times their slopes."""
    a, b, e, alpha, beta = theta
    share = softmax(np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)]), axis=0)
    return -np.stack([share[0], share[1], share[2], -share[0] * log_n, -share[1] * log_d], axis=1)


@dataclass(frozen=True)
class AbsoluteFitOutcome:
    """End point of :func:`least_absolute_fit`: ``theta``, ``objective`` (weighted mean of ``|r|``),
    ``converged`` and the number of linear programmes solved."""

    theta: np.ndarray
    objective: float
    converged: bool
    iterations: int


def least_absolute_fit(
    theta0: np.ndarray,
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_loss: np.ndarray,
    weights: np.ndarray,
    exponent_bounds: tuple[float, float] = DEFAULT_EXPONENT_BOUNDS,
    max_iter: int = 300,
) -> AbsoluteFitOutcome:
    """Minimise ``sum(weights * |r(theta)|)`` by sequential linear programming with a trust region.

    Args:
        theta0: start ``(log A, log B, log E, alpha, beta)``.
        log_n, log_d, log_loss: ``(n,)`` logs of parameters, tokens and loss.
        weights: ``(n,)`` non-negative run weights summing to 1 (bootstrap counts / n).
        exponent_bounds: alpha and beta stay inside ``[lower, upper]``.
        max_iter: linear programmes at most.
    """
    keep = weights > 0
    log_n, log_d, log_loss, weights = log_n[keep], log_d[keep], log_loss[keep], weights[keep]
    n = log_n.size
    identity = sparse.identity(n, format="csr")
    cost = np.concatenate([np.zeros(5), weights, weights])
    lower, upper = exponent_bounds
    theta = np.array(theta0, dtype=float)
    theta[3:] = np.clip(theta[3:], lower, upper)
    residual = _log_residuals(theta, log_n, log_d, log_loss)
    objective = float(weights @ np.abs(residual))
    radius = np.full(5, _TRUST_RADIUS)
    converged = False
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        jacobian = _residual_jacobian(theta, log_n, log_d)
        step_bounds = [(-r, r) for r in radius[:3]] + [
            (max(-r, lower - value), min(r, upper - value)) for r, value in zip(radius[3:], theta[3:], strict=True)
        ]
        programme = linprog(
            cost,
            A_eq=sparse.hstack([sparse.csr_matrix(jacobian), -identity, identity], format="csr"),
            b_eq=-residual,
            bounds=step_bounds + [(0, None)] * (2 * n),
            method="highs",
        )
        if programme.status != 0:
            break
        step = programme.x[:5]
        predicted = objective - float(programme.fun)
        if predicted <= _RELATIVE_TOL * max(objective, 1e-300):
            converged = True
            break
        trial = theta + step
        trial_residual = _log_residuals(trial, log_n, log_d, log_loss)
        trial_objective = float(weights @ np.abs(trial_residual))
        ratio = (objective - trial_objective) / predicted
        if ratio > 0:
            theta, residual, objective = trial, trial_residual, trial_objective
        on_edge = np.abs(step) >= 0.99 * radius
        if ratio > 0.75:
            radius = np.where(on_edge, 2 * radius, radius)
        elif ratio < 0.25:
            radius = radius / 4
        if radius.max() < _MIN_RADIUS:
            converged = True
            break
    return AbsoluteFitOutcome(theta, objective, converged, iterations)


def profile_scale(residuals: np.ndarray, delta: float, weights: np.ndarray | None = None) -> tuple[float, float]:
    """The scale ``s`` maximising the likelihood of given log-loss residuals, and the negative
    log-likelihood per run there: ``(s, mean(huber_delta(r / s)) + log s + log Z)``.

    The objective is convex in ``1 / s``; its minimiser lies near ``delta * mean|r|`` (all residuals
    on the linear branch), and the search covers five orders of magnitude either side.
    """
    residuals = np.asarray(residuals, dtype=float)
    weights = np.full(residuals.shape, 1.0 / residuals.size) if weights is None else np.asarray(weights, float)
    typical = max(float(weights @ np.abs(residuals)) * delta, 1e-300)

    def per_run(log_scale: float) -> float:
        scale = math.exp(log_scale)
        return float(-(weights @ huber_log_density(residuals / scale, delta)) + log_scale)

    best = minimize_scalar(per_run, bounds=(math.log(typical) - 12, math.log(typical) + 12), method="bounded",
                           options={"xatol": 1e-10})
    return math.exp(float(best.x)), float(best.fun)


def negative_log_likelihood(params: dict[str, float], runs: TrainingRuns, huber_delta: float = 1e-3,
                            scale: float | None = None) -> float:
    """Negative log-likelihood per run of ``runs`` under ``params`` (``E, A, B, alpha, beta``), with
    the scale profiled out (``scale=None``) or given: compare parameter sets on one data set."""
    theta = _theta(params)
    residuals = _log_residuals(theta, np.log(runs.N), np.log(runs.D), np.log(runs.loss))
    if scale is None:
        return profile_scale(residuals, huber_delta)[1]
    return float(-np.mean(huber_log_density(residuals / scale, huber_delta)) + math.log(scale))


def _theta(params: dict[str, float]) -> np.ndarray:
    return np.array([math.log(params["A"]), math.log(params["B"]), math.log(params["E"]),
                     params["alpha"], params["beta"]])


def _params(theta: np.ndarray) -> dict[str, float]:
    return {"E": math.exp(theta[2]), "A": math.exp(theta[0]), "B": math.exp(theta[1]),
            "alpha": float(theta[3]), "beta": float(theta[4])}


@dataclass(frozen=True)
class HuberLikelihoodResult(ParametricLossResult):
    """A fitted ``L(N, D)`` (see :class:`ParametricLossResult`) whose estimate maximises the Huber
    likelihood with a free scale.

    Attributes (beyond those of :class:`ParametricLossResult`):
        objective: the negative log-likelihood per run at the estimate (scale profiled).
        scale: the fitted scale ``s`` of the log-loss residuals.
        mean_absolute_residual: ``mean(|log(loss) - log L|)`` over the runs used, the quantity the
            fit minimises in practice (see the module docstring).
    """

    scale: float = math.nan
    mean_absolute_residual: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (as :meth:`ParametricLossResult.to_dict`, objective = negative log-likelihood per run)."""
        return json_ready({
            **super().to_dict(),
            "estimator": "huber_likelihood",
            "objective_kind": "negative log-likelihood per run, Huber-shaped density of log(loss) residuals, "
                              "free scale",
            "scale": self.scale,
            "mean_absolute_residual": self.mean_absolute_residual,
        })

    def summary(self) -> str:
        """A readable text summary: the parametric fit's, headed by the likelihood's objective and scale."""
        lines = super().summary().splitlines()
        lines[0] = "Parametric loss by maximum likelihood, Huber-shaped density with a free scale"
        lines[3] = (f"Objective:        {self.objective:<10.6g} (negative log-likelihood per run, delta = "
                    f"{self.huber_delta:g}; scale {self.scale:.4g}, mean |residual| {self.mean_absolute_residual:.4g})")
        return "\n".join(lines)


@dataclass(frozen=True)
class HuberLikelihoodFit:
    """Estimator of ``L(N, D)`` by maximum likelihood with a Huber-shaped density and a free scale
    (Besiroglu et al. 2024, Table 1).

    Args:
        huber_delta: the density's threshold on scaled log-loss residuals (1e-3 in the replication).
        exclude_top_loss: drop this many highest-loss runs first (the replication drops 5).
        n_bootstrap: bootstrap resamples of runs (0 = no intervals).
        seed: seed of the bootstrap's ``numpy.random.Generator``.
        level: confidence level of the percentile intervals.
        n_starts: grid starts refined besides the Huber-loss estimate.
        exponent_bounds: search region of alpha and beta.
        max_iter: linear programmes per start or resample.
        chunk_size: resamples drawn at a time (bounds memory).
        progress: optional ``progress(done, total)`` callback for the bootstrap.
    """

    huber_delta: float = 1e-3
    exclude_top_loss: int = 0
    n_bootstrap: int = 0
    seed: int | None = 0
    level: float = 0.95
    n_starts: int = 4
    exponent_bounds: tuple[float, float] = DEFAULT_EXPONENT_BOUNDS
    max_iter: int = 300
    chunk_size: int = DEFAULT_CHUNK_SIZE
    progress: ProgressCallback | None = None

    def fit(self, runs: TrainingRuns) -> HuberLikelihoodResult:
        """Fit the runs (see the module docstring for the method).

        Raises:
            AtlasError: bad settings or too few runs (as :class:`ParametricLossFit`).
        """
        if self.n_bootstrap < 0:
            raise AtlasError(f"the number of bootstrap resamples must be >= 0, got {self.n_bootstrap}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the Huber fit is only a start here
            huber = ParametricLossFit(huber_delta=self.huber_delta, exclude_top_loss=self.exclude_top_loss,
                                      exponent_bounds=self.exponent_bounds).fit(runs)
        used = runs.exclude_top_loss(self.exclude_top_loss)
        log_n, log_d, log_loss = np.log(used.N), np.log(used.D), np.log(used.loss)
        n = len(used)
        uniform = np.full(n, 1.0 / n)
        grid = np.asarray(DEFAULT_EXPONENT_GRID)
        grid_starts, grid_sse = projection_starts(log_n, log_d, used.loss, uniform, grid, grid)
        starts = [_theta(huber.params), *grid_starts[np.argsort(grid_sse, kind="stable")[: self.n_starts]]]
        outcomes = [least_absolute_fit(start, log_n, log_d, log_loss, uniform, self.exponent_bounds, self.max_iter)
                    for start in starts]
        best = min(outcomes, key=lambda o: o.objective)
        n_best = sum(o.objective <= best.objective * (1 + _BASIN_RTOL)
                     and bool(np.all(np.abs(o.theta - best.theta) < _BASIN_ATOL)) for o in outcomes)
        residuals = _log_residuals(best.theta, log_n, log_d, log_loss)
        scale, objective = profile_scale(residuals, self.huber_delta)
        messages = [] if best.converged else ["the optimiser did not converge: treat the estimates as unreliable"]
        if n_best < 0.5 * len(outcomes):
            messages.append(f"only {n_best} of {len(outcomes)} starts reached the best optimum")

        samples, failed = self._bootstrap(best.theta, log_n, log_d, log_loss)
        if failed:
            messages.append(f"{failed} of {self.n_bootstrap} bootstrap refits did not converge and were left out")
        for message in messages:
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        return HuberLikelihoodResult(
            params=_params(best.theta),
            ci=self._intervals(samples),
            objective=objective,
            converged=best.converged,
            n_points=n,
            n_excluded=self.exclude_top_loss,
            n_starts=len(outcomes),
            n_best_basin=n_best,
            huber_delta=self.huber_delta,
            level=self.level,
            samples=samples,
            n_bootstrap=self.n_bootstrap,
            n_bootstrap_failed=failed,
            seed=self.seed,
            warnings=tuple(messages),
            scale=scale,
            mean_absolute_residual=best.objective,
        )

    def _bootstrap(self, theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray,
                   log_loss: np.ndarray) -> tuple[np.ndarray, int]:
        """Refits on resampled runs, warm-started at ``theta``: samples ``(S, 5)`` in ``E, A, B, alpha, beta``
        order and the number of refits that did not converge (left out)."""
        n = log_n.size
        rows, failed, done = [], 0, 0
        for counts in chunked_counts(self.seed, n, self.n_bootstrap, self.chunk_size):
            for weights in counts / n:
                outcome = least_absolute_fit(theta, log_n, log_d, log_loss, weights, self.exponent_bounds,
                                             self.max_iter)
                if outcome.converged:
                    rows.append([_params(outcome.theta)[name] for name in PARAMETER_NAMES])
                else:
                    failed += 1
            done += counts.shape[0]
            if self.progress is not None:
                self.progress(done, self.n_bootstrap)
        return (np.array(rows) if rows else np.empty((0, len(PARAMETER_NAMES)))), failed

    def _intervals(self, samples: np.ndarray) -> dict[str, tuple[float, float]]:
        if samples.shape[0] == 0:
            return {}
        table = {name: samples[:, i] for i, name in enumerate(PARAMETER_NAMES)}
        table |= ParametricLaw.from_params(table).derived()
        intervals = {}
        for name, values in table.items():
            low, high = percentile_interval(values, self.level)
            intervals[name] = (float(low), float(high))
        return intervals
