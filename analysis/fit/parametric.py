"""Parametric loss fit (Chinchilla Approach 3): ``L(N, D) = E + A / N**alpha + B / D**beta``.

The fit follows Hoffmann et al. (2022) and Besiroglu et al. (2024): minimise the Huber loss
(``delta = 1e-3``) between ``log(loss)`` and ``logsumexp(a - alpha log N, b - beta log D, e)``
with ``a = log A``, ``b = log B``, ``e = log E``. The reported objective is the *mean* Huber
loss over runs (so duplicating every run leaves it unchanged).

How the global optimum is found:

1. **Variable projection for starts.** For fixed ``(alpha, beta)`` the model is linear in
   ``(A, B, E)``. On a geometric ``(alpha, beta)`` grid we solve the non-negative least-squares
   problem ``loss ~ E + A N**-alpha + B D**-beta`` with relative-error weights ``1 / loss**2``
   (close to the log-space fit), exactly, by enumerating the active sets of the three
   coefficients. Every grid point becomes a candidate; the local minima of the grid's
   least-squares objective (best first, topped up with the next best points) are kept.
2. **Batched damped Newton.** All kept starts are refined together by Levenberg-Marquardt
   steps on the exact gradient and Hessian (analytic, vectorised in numpy), with alpha and
   beta kept inside a search region (default ``[0, 5]``: the law needs positive exponents).
   The best end point is the estimate; the number of starts that end in the same basin is reported.
3. **Diagnostics.** A fit the data do not determine is flagged with warnings rather than
   passed off as clean: an exponent on the edge of the search region, a reducible term that
   changes the predicted loss by less than 0.1% across the runs, fewer than half the starts
   agreeing on the optimum, or an objective not even half that of a constant loss.

The coefficients are kept above a floor that stands for 0 (:data:`analysis.fit.newton.COEFFICIENT_FLOOR_NATS`),
so a fit whose best ``E`` is 0 converges there instead of drifting towards ``log E = -inf``.

**Bootstrap.** Resamples are run weights (counts), so a chunk of resamples is one batched
computation. Each refit starts from the estimate: its first Newton step comes from each run's share
of the gradient and Hessian there, computed once for the whole chunk; then damped Newton steps go on
until the step is below :data:`REFIT_TOL_SE` standard errors. A refit that has not converged after
``max_iter`` steps is refitted from the full set of starts (step 1), each allowed ten times as many; only one that fails that too is a
failed refit, left out of the intervals and counted. The number of iterations allowed therefore
decides how long a refit may take, not whether it is kept. The refits of a chunk that need a restart are
restarted together, all their starts in one batched Newton run: on data that barely identify the law (runs at a
single compute budget) most refits do, and one by one they took minutes. Chunks hold at most
:data:`analysis.fit.bootstrap.RESAMPLE_ELEMENTS` counts and evaluations run over blocks of runs, so
memory stays bounded at any number of runs.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from analysis.errors import AtlasError
from analysis.fit.bootstrap import (
    DEFAULT_CHUNK_SIZE,
    ProgressCallback,
    chunk_size_for,
    chunked_counts,
    percentile_interval,
    standard_error,
)
from analysis.fit.laws import PARAMETER_NAMES as PARAM_NAMES
from analysis.fit.laws import ParametricLaw
from analysis.fit.newton import (
    STEP_TOL,
    NewtonOutcome,
    default_bounds,
    natural,
    newton_refine,
    pick_starts,
    projection_starts,
    run_shares,
    sandwich_standard_errors,
    solver_terms,
    terms_from_sums,
    to_solver,
)
from analysis.fit.newton import huber_terms as huber_terms  # the objective in the papers' parameters, kept here too
from analysis.fit.runs import TrainingRuns
from analysis.fit.serialise import json_ready

N_PARAMETERS = len(PARAM_NAMES)
DEFAULT_EXPONENT_GRID = tuple(np.geomspace(0.02, 2.5, 32))
DEFAULT_EXPONENT_BOUNDS = (0.0, 5.0)
"""Search region of alpha and beta. The law needs both positive (at 0 a term is a constant that
merges with E); the published start grid spans 0..2, and an exponent of 5 already means a tenfold
larger model cuts its term 100,000-fold, far beyond anything a scaling study measures."""

REFIT_TOL_SE = 1e-3
"""A bootstrap refit has converged when its Newton step is below this many (asymptotic) standard errors of
each parameter: a hundredth of the Monte Carlo error of a 95% percentile interval from 1000 resamples
(about 0.09 standard errors), so it cannot move an interval."""

RESTART_ITERATIONS = 10
"""A bootstrap refit refitted from every start allows each start this many times ``max_iter`` iterations: restarts
are rare, and a resample whose optimum lies on ``E = 0`` among kinks of the Huber loss can need a few hundred."""

MAX_THREADS = 4
"""Threads refitting resamples of many runs at once (numpy releases the interpreter lock on long arrays)."""

PROGRESS_EVERY = 100
"""The bootstrap reports progress after this many resamples (and at the end)."""


def _in_order(pool: ThreadPoolExecutor, function: Callable[[T], R], items: Sequence[T], window: int) -> Iterator[R]:
    """``function`` of each item, run on ``pool`` with at most ``window`` pending, yielded in the items' order."""
    pending: deque[Future[R]] = deque()
    for item in items:
        pending.append(pool.submit(function, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()

_BASIN_OBJECTIVE_RTOL = 1e-7
_BASIN_PARAM_ATOL = 1e-4
_BOUND_ATOL = 1e-6
_TERM_RTOL = 1e-3
_MIN_AGREEING_STARTS = 0.5
_MAX_OBJECTIVE_VS_CONSTANT = 0.5
T = TypeVar("T")
R = TypeVar("R")
FIXABLE = ("alpha", "beta")
"""The parameters ``ParametricLossFit(fixed=...)`` can hold at a given value."""


# --------------------------------------------------------------------------------------
# Estimator and result.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParametricLossResult:
    """Fitted ``L(N, D) = E + A / N**alpha + B / D**beta`` (N in parameters, D in tokens, L in nats/token).

    Attributes:
        params: point estimates ``E, A, B, alpha, beta``.
        ci: percentile bootstrap intervals ``name -> (lo, hi)`` for the parameters and the
            derived ``a, b, G``; empty without bootstrap.
        objective: mean Huber loss at the estimate.
        converged: whether the Newton refinement of the best start met its tolerance.
        n_points: runs used in the fit (after exclusions).
        n_excluded: highest-loss runs dropped before fitting.
        n_starts: Newton starts refined; n_best_basin: how many ended at the best optimum.
        huber_delta: Huber threshold used.
        level: confidence level of ``ci``.
        samples: bootstrap estimates, shape ``(n_converged_resamples, 5)`` in ``PARAM_NAMES`` order.
        n_bootstrap: resamples requested; n_bootstrap_failed: resamples whose refit did not
            converge even from the full set of starts (left out of the intervals);
            n_bootstrap_restarted: resamples refitted from the full set of starts.
        seed: bootstrap seed.
        fixed: exponents held at given values (not fitted), ``{"alpha": ...}`` or ``{"beta": ...}``.
        warnings: human-readable warnings: non-convergence, and signs that the data do not
            identify the law (an exponent on the edge of the search region, a term that barely
            changes the predicted loss across the runs, or fewer than half the starts agreeing
            on the optimum).

    Derived quantities (``a, b, G``, ``N_opt``, ``D_opt``, ...) are NaN when undefined (an exponent
    on the bound 0); ``to_dict()`` writes every non-finite number as ``None``.
    """

    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    objective: float
    converged: bool
    n_points: int
    n_excluded: int
    n_starts: int
    n_best_basin: int
    huber_delta: float
    level: float
    samples: np.ndarray = field(repr=False)
    n_bootstrap: int = 0
    n_bootstrap_failed: int = 0
    seed: int | None = None
    warnings: tuple[str, ...] = ()
    n_bootstrap_restarted: int = 0
    fixed: dict[str, float] = field(default_factory=dict)

    @property
    def law(self) -> ParametricLaw:
        """The fitted law (:class:`analysis.fit.laws.ParametricLaw`) at the point estimates."""
        return ParametricLaw.from_params(self.params)

    @property
    def exponents(self) -> dict[str, float]:
        """Compute-optimal exponents: ``N_opt ∝ C**a`` with ``a = beta/(alpha+beta)``, ``D_opt ∝ C**b``."""
        return self.law.exponents

    @property
    def G(self) -> float:
        """``G = (alpha A / (beta B))**(1/(alpha+beta))``: ``N_opt(C) = G (C/6)**a``."""
        return self.law.G

    def loss(self, N: Any, D: Any) -> np.ndarray:
        """Predicted loss (nats/token) for ``N`` parameters trained on ``D`` tokens (broadcast)."""
        return self.law.loss(N, D)

    def n_opt(self, C: Any) -> np.ndarray:
        """Compute-optimal model size (parameters) at budget ``C`` FLOP, with ``C = 6 N D``."""
        return self.law.n_opt(C)

    def d_opt(self, C: Any) -> np.ndarray:
        """Compute-optimal training tokens at budget ``C`` FLOP."""
        return self.law.d_opt(C)

    def tokens_per_parameter(self, C: Any) -> np.ndarray:
        """Compute-optimal ``D_opt / N_opt`` (tokens per parameter) at budget ``C`` FLOP."""
        return self.law.tokens_per_parameter(C)

    def loss_at_budget(self, C: Any) -> np.ndarray:
        """Lowest predicted loss (nats/token) reachable with ``C`` FLOP."""
        return self.law.loss_at_budget(C)

    def compute_for_loss(self, L: Any) -> np.ndarray:
        """FLOP needed to reach loss ``L`` at the compute-optimal allocation (``inf`` if ``L <= E``)."""
        return self.law.compute_for_loss(L)

    def _sample_laws(self) -> ParametricLaw:
        """The bootstrap estimates as one law of ``(S, 1)`` columns."""
        if self.samples.shape[0] == 0:
            raise ValueError("no bootstrap samples: fit with n_bootstrap > 0 to get intervals")
        return ParametricLaw(*(self.samples[:, i][:, None] for i in range(len(PARAM_NAMES))))

    def n_opt_interval(self, C: Any, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap percentile band ``(lo, hi)`` of ``N_opt(C)``, arrays shaped like ``C``."""
        C = np.asarray(C, float)
        values = self._sample_laws().n_opt(C.reshape(1, -1))
        lo, hi = percentile_interval(values, level or self.level)
        return lo.reshape(C.shape), hi.reshape(C.shape)

    def d_opt_interval(self, C: Any, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap percentile band ``(lo, hi)`` of ``D_opt(C)``, arrays shaped like ``C``."""
        C = np.asarray(C, float)
        values = self._sample_laws().d_opt(C.reshape(1, -1))
        lo, hi = percentile_interval(values, level or self.level)
        return lo.reshape(C.shape), hi.reshape(C.shape)

    def standard_errors(self) -> dict[str, float]:
        """Bootstrap standard errors of the parameters and derived ``a, b, G`` (empty without bootstrap)."""
        if self.samples.shape[0] == 0:
            return {}
        table = _sample_table(self.samples)
        return {name: float(standard_error(values)) for name, values in table.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: params, ci, exponents, n_points, objective, converged and details.

        Numbers that are not finite (an undefined derived quantity, an unbounded interval) are ``None``.
        """
        return json_ready({
            "estimator": "parametric",
            "params": self.params,
            "ci": self.ci,
            "level": self.level,
            "standard_errors": self.standard_errors(),
            "exponents": self.exponents,
            "G": self.G,
            "n_points": self.n_points,
            "n_excluded": self.n_excluded,
            "objective": self.objective,
            "objective_kind": "mean Huber loss of log(loss) residuals",
            "huber_delta": self.huber_delta,
            "converged": self.converged,
            "n_starts": self.n_starts,
            "n_best_basin": self.n_best_basin,
            "n_bootstrap": self.n_bootstrap,
            "n_bootstrap_failed": self.n_bootstrap_failed,
            "n_bootstrap_restarted": self.n_bootstrap_restarted,
            "fixed": self.fixed,
            "seed": self.seed,
            "warnings": self.warnings,
        })

    def summary(self) -> str:
        """A readable text summary (parameters, intervals, exponents, fit diagnostics)."""
        lines = [
            "Parametric loss fit (Chinchilla Approach 3): L(N, D) = E + A / N^alpha + B / D^beta",
            "=" * 78,
            f"Runs used:        {self.n_points:<10d} Highest-loss runs dropped: {self.n_excluded}",
            f"Objective:        {self.objective:<10.4e} (mean Huber loss on log loss, delta = {self.huber_delta:g})",
            f"Converged:        {'yes' if self.converged else 'NO':<10} Starts reaching best optimum: "
            f"{self.n_best_basin} of {self.n_starts}",
        ]
        if self.n_bootstrap:
            lines.append(
                f"Bootstrap:        {self.n_bootstrap} resamples of runs (seed {self.seed}), "
                f"{self.level:.0%} percentile intervals, {self.n_bootstrap_failed} refits failed"
                + (f" ({self.n_bootstrap_restarted} refitted from all starts)" if self.n_bootstrap_restarted else "")
            )
        lines.append("-" * 78)
        se = self.standard_errors()
        header = f"{'':10}{'estimate':>14}{'std err':>14}{'lower':>14}{'upper':>14}"
        lines.append(header)
        values = dict(self.params) | self.exponents | {"G": self.G}
        for name, value in values.items():
            lo, hi = self.ci.get(name, (math.nan, math.nan))
            if name in self.fixed:
                lines.append(f"{name:10}{_fmt(value):>14}{'fixed':>14}")
                continue
            lines.append(
                f"{name:10}{_fmt(value):>14}{_fmt(se.get(name, math.nan)):>14}{_fmt(lo):>14}{_fmt(hi):>14}"
            )
        lines.append("-" * 78)
        lines.append("a, b: N_opt ∝ C^a, D_opt ∝ C^b at C = 6 N D FLOP; N_opt(C) = G (C/6)^a parameters.")
        for warning in self.warnings:
            lines.append(f"WARNING: {warning}")
        return "\n".join(lines)


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "-"
    return f"{value:.4g}"


def _sample_table(samples: np.ndarray) -> dict[str, np.ndarray]:
    table = {name: samples[:, i] for i, name in enumerate(PARAM_NAMES)}
    return table | ParametricLaw.from_params(table).derived()


@dataclass(frozen=True)
class ParametricLossFit:
    """Estimator for ``L(N, D) = E + A / N**alpha + B / D**beta`` (Chinchilla Approach 3).

    Args:
        huber_delta: Huber threshold on residuals of the *log* loss (1e-3 as in the papers: residuals
            above 0.1% count linearly, so a few outlying runs do not pull the fit).
        exclude_top_loss: drop this many highest-loss runs first (the Epoch replication drops 5).
        n_bootstrap: bootstrap resamples of runs (0 = no intervals).
        seed: seed of the bootstrap's ``numpy.random.Generator``.
        level: confidence level of percentile intervals.
        n_starts: Newton starts taken from the variable-projection grid.
        exponent_grid: grid of alpha and beta values for the starts.
        exponent_bounds: search region ``(lower, upper)`` of alpha and beta (``0 <= lower < upper``);
            an estimate on its edge is reported with a warning.
        max_iter: Newton iterations per start, and per bootstrap refit before it is refitted from all starts
            (with :data:`RESTART_ITERATIONS` times as many each).
        chunk_size: resamples refitted together at most (fewer when there are many runs, see
            :func:`analysis.fit.bootstrap.chunk_size_for`).
        progress: optional ``progress(done, total)`` callback for the bootstrap.
        fixed: exponents to hold at given values instead of fitting them, e.g. ``{"alpha": 0.34}``.
    """

    huber_delta: float = 1e-3
    exclude_top_loss: int = 0
    n_bootstrap: int = 0
    seed: int | None = 0
    level: float = 0.95
    n_starts: int = 8
    exponent_grid: tuple[float, ...] = DEFAULT_EXPONENT_GRID
    exponent_bounds: tuple[float, float] = DEFAULT_EXPONENT_BOUNDS
    max_iter: int = 200
    chunk_size: int = DEFAULT_CHUNK_SIZE
    progress: ProgressCallback | None = None
    fixed: dict[str, float] | None = None

    def _check_options(self) -> dict[str, float]:
        if not (self.huber_delta > 0 and math.isfinite(self.huber_delta)):
            raise AtlasError(f"huber_delta must be a positive number, got {self.huber_delta}")
        if self.n_bootstrap < 0:
            raise AtlasError(f"the number of bootstrap resamples must be >= 0, got {self.n_bootstrap}")
        if not 0.0 < self.level < 1.0:
            raise AtlasError(f"level must be between 0 and 1, got {self.level}")
        if self.max_iter < 1:
            raise AtlasError(f"max_iter must be at least 1, got {self.max_iter}")
        lower, upper = self.exponent_bounds
        if not 0 <= lower < upper < math.inf:
            raise AtlasError(f"exponent_bounds must satisfy 0 <= lower < upper < inf, got {self.exponent_bounds}")
        fixed = dict(self.fixed or {})
        for name, value in fixed.items():
            if name not in FIXABLE:
                raise AtlasError(f"only the exponents {' and '.join(FIXABLE)} can be fixed, not {name!r}")
            if not lower < value <= upper:
                raise AtlasError(f"a fixed {name} must lie in ({lower:g}, {upper:g}], got {value}")
        return fixed

    def fit(self, runs: TrainingRuns) -> ParametricLossResult:
        """Fit the runs (see the module docstring for the method).

        Linear algebra runs on one thread: the matrices are small and many, so threads only wait on each
        other (tenfold slower on a busy machine), and one thread sums in one order on every machine.

        Raises:
            AtlasError: fewer distinct runs (``(N, D)`` pairs) than free parameters, or bad settings.
        """
        with threadpool_limits(1, user_api="blas"):
            return self._fit(runs)

    def _fit(self, runs: TrainingRuns) -> ParametricLossResult:
        fixed = self._check_options()
        used = runs.exclude_top_loss(self.exclude_top_loss)
        n_free = N_PARAMETERS - len(fixed)
        if not used.has_distinct(n_free + 1):
            distinct = used.n_distinct
            copies = f" among {len(used)} rows" if distinct < len(used) else ""
            raise AtlasError(
                f"need more distinct runs (different N, D) than the {n_free} free parameters of L(N, D) to fit it, "
                f"got {distinct}{copies}" + (f" after dropping {self.exclude_top_loss}" if self.exclude_top_loss else "")
            )
        log_n, log_d, log_loss = np.log(used.N), np.log(used.D), np.log(used.loss)
        n = len(used)
        bounds = default_bounds(log_loss, self.exponent_bounds, fixed)
        uniform = np.full((1, n), 1.0 / n)
        outcome, best_basins, start_counts = self._global_fit(log_n, log_d, used.loss, uniform, bounds)
        phi, objective, converged = outcome.phi[0], float(outcome.objective[0]), bool(outcome.converged[0])
        n_best, n_starts = int(best_basins[0]), int(start_counts[0])
        messages: list[str] = []
        if not converged:
            messages.append("the optimiser did not converge: treat the estimates as unreliable")
        messages += _identification_warnings(
            phi, objective, log_n, log_d, used.loss, self.huber_delta, bounds, n_best, n_starts, fixed
        )
        samples = np.empty((0, N_PARAMETERS))
        failed = restarted = 0
        if self.n_bootstrap:
            samples, failed, restarted = self._bootstrap(phi, log_n, log_d, log_loss, used.loss, bounds)
            if failed:
                messages.append(
                    f"{failed} of {self.n_bootstrap} bootstrap refits did not converge, even from the full set of "
                    "starts, and were left out"
                )
            on_zero = int(np.sum(np.any(samples[:, 3:] <= 0, axis=1)))
            if on_zero:
                messages.append(
                    f"{on_zero} of {self.n_bootstrap} bootstrap refits put an exponent on 0, where a, b and G are "
                    "undefined: their intervals leave those refits out"
                )
        params = dict(zip(PARAM_NAMES, (float(v) for v in natural(phi[None])[0]), strict=True))
        ci: dict[str, tuple[float, float]] = {}
        if samples.shape[0]:
            for name, values in _sample_table(samples).items():
                lo, hi = percentile_interval(values, self.level)
                ci[name] = (float(lo), float(hi))
        for message in messages:
            warnings.warn(message, RuntimeWarning, stacklevel=4)
        return ParametricLossResult(
            params=params,
            ci=ci,
            objective=objective,
            converged=converged,
            n_points=n,
            n_excluded=self.exclude_top_loss,
            n_starts=n_starts,
            n_best_basin=n_best,
            huber_delta=self.huber_delta,
            level=self.level,
            samples=samples,
            n_bootstrap=self.n_bootstrap,
            n_bootstrap_failed=failed,
            seed=self.seed,
            warnings=tuple(messages),
            n_bootstrap_restarted=restarted,
            fixed=fixed,
        )

    def _global_fit(
        self, log_n: np.ndarray, log_d: np.ndarray, loss: np.ndarray, weights: np.ndarray,
        bounds: tuple[np.ndarray, np.ndarray], max_iter: int | None = None,
    ) -> tuple[NewtonOutcome, np.ndarray, np.ndarray]:
        """The best of Newton runs from the variable-projection starts, for each row of ``weights`` ``(R, n)``.

        The starts of every row are refined together, in one batch (a restart of many bootstrap refits costs
        about as many iterations as the slowest of them, not their sum). Returns the best end point of each row
        as an ``R``-row outcome, how many of its starts reached it ``(R,)`` and how many it had ``(R,)``.
        """
        lower, upper = bounds
        grid = np.asarray(self.exponent_grid, dtype=float)
        alphas = grid if lower[3] < upper[3] else lower[3:4]
        betas = grid if lower[4] < upper[4] else lower[4:5]
        starts, owners = [], []
        for row, row_weights in enumerate(weights):
            theta, grid_sse = projection_starts(log_n, log_d, loss, row_weights, alphas, betas)
            chosen = pick_starts(grid_sse.reshape(alphas.size, betas.size), self.n_starts)
            starts.append(theta[chosen])
            owners.append(np.full(chosen.size, row))
        owner = np.concatenate(owners)
        outcome = newton_refine(to_solver(np.concatenate(starts)), log_n, log_d, np.log(loss), weights[owner],
                                self.huber_delta, max_iter or self.max_iter, bounds)
        best, n_best = _best_of_starts(outcome, owner, weights.shape[0])
        picked = NewtonOutcome(phi=outcome.phi[best], objective=outcome.objective[best],
                               converged=outcome.converged[best], iterations=outcome.iterations[best])
        return picked, n_best, np.bincount(owner, minlength=weights.shape[0])

    def _bootstrap(
        self, phi: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray, loss: np.ndarray,
        bounds: tuple[np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, int, int]:
        """Refit every resample (see the module docstring): ``(samples (kept, 5), failed, restarted)``.

        Resamples come in chunks of counts (:func:`chunked_counts`). With so many runs that a chunk would hold
        fewer than ``chunk_size`` resamples, each resample instead draws its own counts from its own seed
        (spawned from ``seed``), is refitted on the runs it drew only (a third of the runs are not drawn), and
        resamples are refitted on as many threads as there are processors (at most :data:`MAX_THREADS`).
        """
        n = log_n.shape[0]
        errors = sandwich_standard_errors(phi, log_n, log_d, log_loss, self.huber_delta, *bounds)
        tolerance = np.where(np.isfinite(errors), np.maximum(STEP_TOL, REFIT_TOL_SE * errors), STEP_TOL)
        shares = run_shares(phi, log_n, log_d, log_loss, self.huber_delta)

        def refit(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
            """Refits ``(S, 5)`` of the weight rows ``(S, n)``, whether each converged, and how many were restarted."""
            initial = terms_from_sums(weights @ shares)
            drawn = np.flatnonzero(weights.any(axis=0))
            outcome = newton_refine(np.broadcast_to(phi, (weights.shape[0], N_PARAMETERS)), log_n[drawn], log_d[drawn],
                                    log_loss[drawn], weights[:, drawn], self.huber_delta, self.max_iter, bounds,
                                    tolerance, initial=initial)
            refits, converged = outcome.phi, outcome.converged.copy()
            failing = np.flatnonzero(~converged)
            batch = chunk_size_for(n * self.n_starts, failing.size)  # starts times runs bounded like a chunk
            for start in range(0, failing.size, batch):
                rows = failing[start : start + batch]
                again, _, _ = self._global_fit(log_n, log_d, loss, weights[rows], bounds, RESTART_ITERATIONS * self.max_iter)
                refits[rows[again.converged]] = again.phi[again.converged]
                converged[rows] = again.converged
            return refits, converged, int(failing.size)

        def refit_drawn(seed: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray, int]:
            counts = np.bincount(np.random.default_rng(seed).integers(0, n, n), minlength=n)
            return refit((counts / n)[None])

        chunk_size = chunk_size_for(n, self.chunk_size)
        results: list[tuple[np.ndarray, np.ndarray, int]] = []
        if chunk_size >= min(self.chunk_size, self.n_bootstrap):
            for counts in chunked_counts(self.seed, n, self.n_bootstrap, chunk_size):
                results.append(refit(counts / n))
                self._report(sum(len(result[1]) for result in results))
        else:
            workers = min(os.cpu_count() or 1, MAX_THREADS)
            seeds = np.random.SeedSequence(self.seed).spawn(self.n_bootstrap)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for result in _in_order(pool, refit_drawn, seeds, window=2 * workers):
                    results.append(result)
                    self._report(len(results))
        refits = np.concatenate([result[0] for result in results])
        converged = np.concatenate([result[1] for result in results])
        restarted = sum(result[2] for result in results)
        return natural(refits[converged]), int((~converged).sum()), restarted

    def _report(self, done: int) -> None:
        if self.progress is not None and (done == self.n_bootstrap or done % PROGRESS_EVERY == 0):
            self.progress(done, self.n_bootstrap)


def _best_of_starts(outcome: NewtonOutcome, owner: np.ndarray, n_problems: int) -> tuple[np.ndarray, np.ndarray]:
    """For each problem, the index of its best end point in ``outcome`` (the lowest finite objective among its rows:
    ``owner`` ``(S,)`` gives each row's problem) and how many of its rows ended in the same basin, each
    ``(n_problems,)``."""
    best = np.zeros(n_problems, dtype=int)
    n_best = np.zeros(n_problems, dtype=int)
    for problem in range(n_problems):
        rows = np.flatnonzero(owner == problem)
        objective = outcome.objective[rows]
        pick = rows[int(np.argmin(np.where(np.isfinite(objective), objective, np.inf)))]
        same_basin = (objective <= outcome.objective[pick] * (1 + _BASIN_OBJECTIVE_RTOL) + 1e-15) & (
            np.max(np.abs(outcome.phi[rows] - outcome.phi[pick]), axis=1) < _BASIN_PARAM_ATOL
        )
        best[problem], n_best[problem] = pick, int(same_basin.sum())
    return best, n_best


def _identification_warnings(
    phi: np.ndarray, objective: float, log_n: np.ndarray, log_d: np.ndarray, loss: np.ndarray, delta: float,
    bounds: tuple[np.ndarray, np.ndarray], n_best: int, n_starts: int, fixed: dict[str, float],
) -> list[str]:
    """Signs that the data do not determine the law, as messages (empty for a well-posed fit).

    Args:
        phi: the estimate ``(a, b, E, alpha, beta)``; objective: its mean Huber loss.
        log_n, log_d, loss: the runs used; delta: the Huber threshold.
        bounds: the search region ``(lower, upper)`` of phi; fixed: exponents not fitted.
    """
    lower, upper = float(bounds[0][3]), float(bounds[1][3])
    messages = []
    if phi[2] <= _BOUND_ATOL * float(np.min(loss)):
        messages.append("the irreducible loss E is 0 at the best fit: these runs show no loss floor, so E, and how "
                        "the loss flattens beyond the runs, are not determined")
    # A constant loss at the median (close to the Huber optimum for a small delta): real scaling data
    # cut this objective 3- to 50-fold, pure noise by well under half.
    residual = np.abs(np.log(loss) - np.median(np.log(loss)))
    constant = float(np.mean(np.where(residual <= delta, 0.5 * residual**2, delta * (residual - 0.5 * delta))))
    if objective > _MAX_OBJECTIVE_VS_CONSTANT * constant:
        messages.append(
            f"the law fits the runs barely better than a constant loss (objective {objective:.3g} against "
            f"{constant:.3g}): these runs show little dependence of loss on N or D"
        )
    a, b, _, alpha, beta = phi
    scale = float(np.median(loss))
    for name, exponent, log_coef, log_x, term in (
        ("alpha", alpha, a, log_n, "A / N^alpha"), ("beta", beta, b, log_d, "B / D^beta")
    ):
        for bound in () if name in fixed else (lower, upper):
            if abs(exponent - bound) <= _BOUND_ATOL:
                undefined = "; a, b, G and N_opt(C) are undefined" if bound <= 0 else ""
                messages.append(
                    f"{name} = {exponent:.3g} is on the edge of the search region [{lower:g}, {upper:g}]: "
                    f"the data do not identify it{undefined}"
                )
        values = np.exp(log_coef - exponent * log_x)
        if (values.max() - values.min()) < _TERM_RTOL * scale:
            coefficient = "A" if name == "alpha" else "B"
            messages.append(
                f"the {term} term changes the predicted loss by less than {_TERM_RTOL:.1%} across the runs "
                f"({coefficient} = {math.exp(log_coef):.3g}, {name} = {exponent:.3g}): {coefficient} and {name} "
                "are not identified by these data"
            )
    if n_best < _MIN_AGREEING_STARTS * n_starts:
        messages.append(
            f"only {n_best} of {n_starts} starts reached the best optimum: the objective has competing optima, "
            "so these data do not pin the estimate down"
        )
    return messages


def huber_objective(
    params: dict[str, float], runs: TrainingRuns, huber_delta: float = 1e-3
) -> float:
    """Mean Huber loss of ``runs`` under ``params`` (``E, A, B, alpha, beta``): compare fits on one data set."""
    phi = np.array([[math.log(params["A"]), math.log(params["B"]), params["E"], params["alpha"], params["beta"]]])
    n = len(runs)
    value, _ = solver_terms(
        phi, np.log(runs.N), np.log(runs.D), np.log(runs.loss), np.full((1, n), 1.0 / n),
        huber_delta, with_derivatives=False,
    )
    return float(value[0])
