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

Bootstrap refits reuse step 2, warm-started from the estimate, with resamples expressed as
run weights so a whole chunk of resamples is one batched computation.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.errors import AtlasError
from analysis.fit.bootstrap import (
    DEFAULT_CHUNK_SIZE,
    ProgressCallback,
    chunked_counts,
    percentile_interval,
    standard_error,
)
from analysis.fit.laws import PARAMETER_NAMES as PARAM_NAMES
from analysis.fit.laws import ParametricLaw
from analysis.fit.runs import TrainingRuns
from analysis.fit.serialise import json_ready

N_PARAMETERS = len(PARAM_NAMES)
DEFAULT_EXPONENT_GRID = tuple(np.geomspace(0.02, 2.5, 32))
DEFAULT_EXPONENT_BOUNDS = (0.0, 5.0)
"""Search region of alpha and beta. The law needs both positive (at 0 a term is a constant that
merges with E); the published start grid spans 0..2, and an exponent of 5 already means a tenfold
larger model cuts its term 100,000-fold, far beyond anything a scaling study measures."""

_BASIN_OBJECTIVE_RTOL = 1e-7
_BASIN_PARAM_ATOL = 1e-4
_STEP_TOL = 1e-9
_BOUND_ATOL = 1e-6
_TERM_RTOL = 1e-3
_MIN_AGREEING_STARTS = 0.5
_MAX_OBJECTIVE_VS_CONSTANT = 0.5


# --------------------------------------------------------------------------------------
# Objective, gradient and Hessian in theta = (a, b, e, alpha, beta), batched over rows.
# --------------------------------------------------------------------------------------


def _design(log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """Per-run basis ``[1, log N, log D, log N^2, log D^2, log N log D]``, shape ``(n, 6)``."""
    return np.stack(
        [np.ones_like(log_n), log_n, log_d, log_n * log_n, log_d * log_d, log_n * log_d], axis=-1
    )


@dataclass(frozen=True)
class _ModelState:
    """Per-row, per-run quantities of the model at some ``theta`` (all ``(S, n)``)."""

    residual: np.ndarray  # log prediction - log loss
    p1: np.ndarray  # softmax weights of the three logsumexp terms
    p2: np.ndarray
    p3: np.ndarray

    def rows(self, index: np.ndarray) -> _ModelState:
        return _ModelState(self.residual[index], self.p1[index], self.p2[index], self.p3[index])


def _evaluate(
    theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray,
    weights: np.ndarray, delta: float,
) -> tuple[np.ndarray, _ModelState]:
    a, b, e, alpha, beta = (theta[:, i : i + 1] for i in range(N_PARAMETERS))
    u1 = a - alpha * log_n
    u2 = b - beta * log_d
    peak = np.maximum(np.maximum(u1, u2), e)
    e1, e2, e3 = np.exp(u1 - peak), np.exp(u2 - peak), np.exp(e - peak)
    total = e1 + e2 + e3
    residual = peak + np.log(total) - log_loss
    abs_residual = np.abs(residual)
    inside = np.maximum(delta - abs_residual, 0.0)
    # Branch-free Huber: delta (|r| - delta/2) + max(delta - |r|, 0)^2 / 2.
    huber = delta * (abs_residual - 0.5 * delta) + 0.5 * inside * inside
    objective = np.einsum("sn,sn->s", weights, huber)
    inverse = 1.0 / total
    return objective, _ModelState(residual, e1 * inverse, e2 * inverse, e3 * inverse)


def _derivatives(
    state: _ModelState, weights: np.ndarray, basis: np.ndarray, delta: float
) -> tuple[np.ndarray, np.ndarray]:
    # d residual / d theta = [p1, p2, p3, -p1 log N, -p2 log D] with p the softmax of u;
    # its Hessian is J^T (diag p - p p^T) J. Every sum over runs is a product with the shared
    # basis of log N, log D terms, so one matmul gives all of them for all rows at once.
    p1, p2, p3 = state.p1, state.p2, state.p3
    clipped = np.clip(state.residual, -delta, delta)
    q = weights * clipped
    c = weights * (np.abs(clipped) < delta) - q
    cp1, cp2, cp3 = c * p1, c * p2, c * p3
    n_rows, n_runs = p1.shape
    products = np.empty((9, n_rows, n_runs))
    for out, (left, right) in zip(
        products,
        ((q, p1), (q, p2), (q, p3), (cp1, p1), (cp1, p2), (cp1, p3), (cp2, p2), (cp2, p3), (cp3, p3)),
    ):
        np.multiply(left, right, out=out)
    # One large matmul is much cheaper than nine small ones.
    sums = (products.reshape(9 * n_rows, n_runs) @ basis).reshape(9, n_rows, basis.shape[1])
    qp1, qp2, qp3, c11, c12, c13, c22, c23, c33 = sums
    one, ln, ld, ln2, ld2, lnld = range(6)
    gradient = np.stack([qp1[:, one], qp2[:, one], qp3[:, one], -qp1[:, ln], -qp2[:, ld]], axis=1)
    hessian = np.empty((p1.shape[0], N_PARAMETERS, N_PARAMETERS))
    entries = {
        (0, 0): c11[:, one] + qp1[:, one],
        (0, 1): c12[:, one],
        (0, 2): c13[:, one],
        (0, 3): -c11[:, ln] - qp1[:, ln],
        (0, 4): -c12[:, ld],
        (1, 1): c22[:, one] + qp2[:, one],
        (1, 2): c23[:, one],
        (1, 3): -c12[:, ln],
        (1, 4): -c22[:, ld] - qp2[:, ld],
        (2, 2): c33[:, one] + qp3[:, one],
        (2, 3): -c13[:, ln],
        (2, 4): -c23[:, ld],
        (3, 3): c11[:, ln2] + qp1[:, ln2],
        (3, 4): c12[:, lnld],
        (4, 4): c22[:, ld2] + qp2[:, ld2],
    }
    for (i, j), value in entries.items():
        hessian[:, i, j] = value
        hessian[:, j, i] = value
    return gradient, hessian


def huber_terms(
    theta: np.ndarray,
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_loss: np.ndarray,
    weights: np.ndarray,
    delta: float,
    with_derivatives: bool = True,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Weighted Huber objective of the log-space model, with its exact gradient and Hessian.

    Args:
        theta: ``(S, 5)`` rows of ``(a, b, e, alpha, beta)``.
        log_n, log_d, log_loss: ``(n,)`` logs of parameters, tokens and loss.
        weights: ``(S, n)`` non-negative run weights per row (each row sums to 1).
        delta: Huber threshold (in log-loss units).
        with_derivatives: also return the gradient ``(S, 5)`` and Hessian ``(S, 5, 5)``.

    Returns:
        ``(objective (S,), gradient or None, Hessian or None)``.
    """
    objective, state = _evaluate(theta, log_n, log_d, log_loss, weights, delta)
    if not with_derivatives:
        return objective, None, None
    gradient, hessian = _derivatives(state, weights, _design(log_n, log_d), delta)
    return objective, gradient, hessian


@dataclass(frozen=True)
class NewtonOutcome:
    """End points of :func:`newton_refine`, one row per problem."""

    theta: np.ndarray  # (S, 5)
    objective: np.ndarray  # (S,)
    converged: np.ndarray  # (S,) bool
    iterations: np.ndarray  # (S,) int


def newton_refine(
    theta0: np.ndarray,
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_loss: np.ndarray,
    weights: np.ndarray,
    delta: float,
    max_iter: int = 200,
    exponent_bounds: tuple[float, float] = DEFAULT_EXPONENT_BOUNDS,
) -> NewtonOutcome:
    """Batched, bound-constrained Levenberg-Marquardt on the exact Hessian, one problem per row of ``theta0``.

    ``alpha`` and ``beta`` stay inside ``exponent_bounds`` (projected Newton: an exponent on a
    bound whose gradient points outwards is held fixed, the others take the Newton step, and the
    trial point is clipped into the box). A row stops when its step is below ``1e-9`` or its
    projected gradient vanishes (converged), or when no damped step decreases the objective any
    more (converged only if the projected gradient is negligible), or after ``max_iter``
    iterations (not converged).
    """
    theta = np.array(theta0, dtype=float, copy=True)
    lower, upper = exponent_bounds
    theta[:, 3:] = np.clip(theta[:, 3:], lower, upper)
    n_rows = theta.shape[0]
    weights = np.broadcast_to(weights, (n_rows, log_n.shape[0]))
    basis = _design(log_n, log_d)
    objective, state = _evaluate(theta, log_n, log_d, log_loss, weights, delta)
    gradient, hessian = _derivatives(state, weights, basis, delta)
    damping = np.full(n_rows, 1e-4)
    active = np.ones(n_rows, dtype=bool)
    converged = np.zeros(n_rows, dtype=bool)
    iterations = np.zeros(n_rows, dtype=int)
    gradient_tol = 1e-9 * delta
    identity = np.eye(N_PARAMETERS)
    for _ in range(max_iter):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        free_gradient, free_hessian = gradient[rows], hessian[rows]
        free = _free_parameters(theta[rows], free_gradient, lower, upper)
        if not free.all():
            free_gradient = np.where(free, free_gradient, 0.0)
            fixed_diagonal = (~free)[:, :, None] * identity
            free_hessian = np.where(free[:, :, None] & free[:, None, :], free_hessian, 0.0) + fixed_diagonal
        diag = np.maximum(np.abs(np.diagonal(free_hessian, axis1=1, axis2=2)), 1e-12)
        system = free_hessian + damping[rows, None, None] * (diag[:, :, None] * identity)
        try:
            step = np.linalg.solve(system, -free_gradient[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.stack([_safe_solve(m, -g) for m, g in zip(system, free_gradient)])
        trial = theta[rows] + step
        trial[:, 3:] = np.clip(trial[:, 3:], lower, upper)
        step = trial - theta[rows]
        trial_weights = weights[rows]
        trial_objective, trial_state = _evaluate(trial, log_n, log_d, log_loss, trial_weights, delta)
        accepted = np.isfinite(trial_objective) & (trial_objective <= objective[rows])
        moved = rows[accepted]
        if moved.size:
            theta[moved] = trial[accepted]
            objective[moved] = trial_objective[accepted]
            gradient[moved], hessian[moved] = _derivatives(
                trial_state.rows(accepted), trial_weights[accepted], basis, delta
            )
        damping[moved] = np.maximum(damping[moved] * 0.1, 1e-12)
        damping[rows[~accepted]] *= 10.0
        iterations[rows] += 1
        projected = gradient[rows]
        free = _free_parameters(theta[rows], projected, lower, upper)
        if not free.all():
            projected = np.where(free, projected, 0.0)
        largest_gradient = np.max(np.abs(projected), axis=1)
        small_gradient = largest_gradient <= gradient_tol
        small_step = accepted & (np.max(np.abs(step), axis=1) < _STEP_TOL)
        stuck = damping[rows] > 1e12
        done = small_gradient | small_step | stuck
        converged[rows[done]] = (small_gradient | small_step | (stuck & (largest_gradient <= 1e-6 * delta)))[done]
        active[rows[done]] = False
    return NewtonOutcome(theta=theta, objective=objective, converged=converged, iterations=iterations)


def _free_parameters(theta: np.ndarray, gradient: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """``(S, 5)`` mask: False for an exponent held on a bound by a gradient pointing out of the box."""
    free = np.ones(theta.shape, dtype=bool)
    exponents, slope = theta[:, 3:], gradient[:, 3:]
    free[:, 3:] = ~(((exponents <= lower) & (slope > 0)) | ((exponents >= upper) & (slope < 0)))
    return free


def _safe_solve(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(matrix, rhs, rcond=None)[0]


def projection_starts(
    log_n: np.ndarray,
    log_d: np.ndarray,
    loss: np.ndarray,
    weights: np.ndarray,
    alphas: np.ndarray,
    betas: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Variable-projection starts: for each grid ``(alpha, beta)`` the best ``(A, B, E) >= 0``.

    Solves weighted non-negative least squares ``loss ~ E + A N**-alpha + B D**-beta`` (weights
    ``w / loss**2``) on every grid point at once. Returns ``theta`` rows ``(a, b, e, alpha, beta)``,
    shape ``(len(alphas) * len(betas), 5)``, alpha varying slowest, and each row's weighted
    sum of squared relative errors (up to a constant), shape ``(len(alphas) * len(betas),)``.
    """
    n_ref, d_ref = float(np.average(log_n, weights=weights)), float(np.average(log_d, weights=weights))
    w = weights / loss**2
    x1 = np.exp(-np.outer(alphas, log_n - n_ref))  # (Ga, n): N^-alpha, rescaled to order 1
    x2 = np.exp(-np.outer(betas, log_d - d_ref))  # (Gb, n)
    shape = (alphas.size, betas.size)
    s11 = np.broadcast_to(((x1 * x1) @ w)[:, None], shape)
    s22 = np.broadcast_to(((x2 * x2) @ w)[None, :], shape)
    s12 = (x1 * w) @ x2.T
    s10 = np.broadcast_to((x1 @ w)[:, None], shape)
    s20 = np.broadcast_to((x2 @ w)[None, :], shape)
    s00 = np.full(shape, w.sum())
    s1y = np.broadcast_to((x1 @ (w * loss))[:, None], shape)
    s2y = np.broadcast_to((x2 @ (w * loss))[None, :], shape)
    s0y = np.full(shape, w @ loss)
    gram = np.stack(
        [np.stack([s11, s12, s10], -1), np.stack([s12, s22, s20], -1), np.stack([s10, s20, s00], -1)], -2
    ).reshape(-1, 3, 3)
    moment = np.stack([s1y, s2y, s0y], -1).reshape(-1, 3)
    best_gain = np.full(gram.shape[0], -np.inf)
    coef = np.zeros((gram.shape[0], 3))
    # Exact NNLS with three unknowns: try every support, keep the feasible one with the lowest SSE.
    for support in ((0, 1, 2), (0, 1), (0, 2), (1, 2), (0,), (1,), (2,)):
        s = list(support)
        sub = gram[:, s][:, :, s] + 1e-14 * np.eye(len(s))
        solution = np.linalg.solve(sub, moment[:, s][..., None])[..., 0]
        feasible = np.all(solution > 0, axis=1)
        gain = np.einsum("gi,gi->g", solution, moment[:, s])  # SSE = const - gain
        better = feasible & (gain > best_gain)
        full = np.zeros_like(coef)
        full[:, s] = solution
        coef[better] = full[better]
        best_gain[better] = gain[better]
    tiny = 1e-10 * float(loss.min())
    coef = np.maximum(coef, tiny)
    grid_alpha = np.repeat(alphas, betas.size)
    grid_beta = np.tile(betas, alphas.size)
    theta = np.stack(
        [
            np.log(coef[:, 0]) + grid_alpha * n_ref,
            np.log(coef[:, 1]) + grid_beta * d_ref,
            np.log(coef[:, 2]),
            grid_alpha,
            grid_beta,
        ],
        axis=1,
    )
    return theta, -best_gain


def _pick_starts(objective_grid: np.ndarray, n_starts: int) -> np.ndarray:
    """Indices of up to ``n_starts`` grid points: local minima first (best first), then the best others."""
    grid = objective_grid
    padded = np.pad(grid, 1, constant_values=np.inf)
    neighbours = np.stack(
        [padded[1 + di : 1 + di + grid.shape[0], 1 + dj : 1 + dj + grid.shape[1]]
         for di in (-1, 0, 1) for dj in (-1, 0, 1) if (di, dj) != (0, 0)]
    )
    flat = grid.ravel()
    is_local_min = np.all(grid[None] <= neighbours, axis=0).ravel() & np.isfinite(flat)
    order = np.argsort(flat, kind="stable")
    minima = [i for i in order if is_local_min[i]]
    others = [i for i in order if not is_local_min[i]]
    return np.array((minima + others)[:n_starts], dtype=int)


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
            converge (left out of the intervals).
        seed: bootstrap seed.
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
            )
        lines.append("-" * 78)
        se = self.standard_errors()
        header = f"{'':10}{'estimate':>14}{'std err':>14}{'lower':>14}{'upper':>14}"
        lines.append(header)
        values = dict(self.params) | self.exponents | {"G": self.G}
        for name, value in values.items():
            lo, hi = self.ci.get(name, (math.nan, math.nan))
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
        huber_delta: Huber threshold on log-loss residuals (1e-3 as in the papers).
        exclude_top_loss: drop this many highest-loss runs first (the Epoch replication drops 5).
        n_bootstrap: bootstrap resamples of runs (0 = no intervals).
        seed: seed of the bootstrap's ``numpy.random.Generator``.
        level: confidence level of percentile intervals.
        n_starts: Newton starts taken from the variable-projection grid.
        exponent_grid: grid of alpha and beta values for the starts.
        exponent_bounds: search region ``(lower, upper)`` of alpha and beta (``0 <= lower < upper``);
            an estimate on its edge is reported with a warning.
        max_iter: Newton iteration limit per start / resample.
        chunk_size: resamples refitted together (bounds memory).
        progress: optional ``progress(done, total)`` callback for the bootstrap.
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

    def fit(self, runs: TrainingRuns) -> ParametricLossResult:
        """Fit the runs (see the module docstring for the method).

        Raises:
            AtlasError: fewer usable runs than can identify five parameters, or bad settings.
        """
        if not self.huber_delta > 0:
            raise AtlasError(f"huber_delta must be positive, got {self.huber_delta}")
        if self.n_bootstrap < 0:
            raise AtlasError(f"the number of bootstrap resamples must be >= 0, got {self.n_bootstrap}")
        lower, upper = self.exponent_bounds
        if not 0 <= lower < upper < math.inf:
            raise AtlasError(f"exponent_bounds must satisfy 0 <= lower < upper < inf, got {self.exponent_bounds}")
        used = runs.exclude_top_loss(self.exclude_top_loss)
        if len(used) <= N_PARAMETERS:
            raise AtlasError(
                f"need more runs than the {N_PARAMETERS} parameters of L(N, D) to fit it, got {len(used)}"
                + (f" after dropping {self.exclude_top_loss}" if self.exclude_top_loss else "")
            )
        log_n, log_d, log_loss = np.log(used.N), np.log(used.D), np.log(used.loss)
        n = len(used)
        uniform = np.full((1, n), 1.0 / n)
        theta, objective, converged, n_starts, n_best = self._global_fit(log_n, log_d, used.loss, uniform)
        messages: list[str] = []
        if not converged:
            messages.append("the optimiser did not converge: treat the estimates as unreliable")
        messages += _identification_warnings(
            theta, objective, log_n, log_d, used.loss, self.huber_delta, self.exponent_bounds, n_best, n_starts
        )

        samples = np.empty((0, N_PARAMETERS))
        failed = 0
        if self.n_bootstrap:
            chunks = []
            done = 0
            for counts in chunked_counts(self.seed, n, self.n_bootstrap, self.chunk_size):
                outcome = newton_refine(
                    np.broadcast_to(theta, (counts.shape[0], N_PARAMETERS)),
                    log_n, log_d, log_loss, counts / n, self.huber_delta, self.max_iter, self.exponent_bounds,
                )
                failed += int((~outcome.converged).sum())
                chunks.append(_natural(outcome.theta[outcome.converged]))
                done += counts.shape[0]
                if self.progress is not None:
                    self.progress(done, self.n_bootstrap)
            samples = np.concatenate(chunks)
            if failed:
                messages.append(f"{failed} of {self.n_bootstrap} bootstrap refits did not converge and were left out")
            on_zero = int(np.sum(np.any(samples[:, 3:] <= 0, axis=1)))
            if on_zero:
                messages.append(
                    f"{on_zero} of {self.n_bootstrap} bootstrap refits put an exponent on 0, where a, b and G are "
                    "undefined: their intervals leave those refits out"
                )
        params = dict(zip(PARAM_NAMES, (float(v) for v in _natural(theta[None])[0])))
        ci: dict[str, tuple[float, float]] = {}
        if samples.shape[0]:
            for name, values in _sample_table(samples).items():
                lo, hi = percentile_interval(values, self.level)
                ci[name] = (float(lo), float(hi))
        for message in messages:
            warnings.warn(message, RuntimeWarning, stacklevel=2)
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
        )

    def _global_fit(
        self, log_n: np.ndarray, log_d: np.ndarray, loss: np.ndarray, weights: np.ndarray
    ) -> tuple[np.ndarray, float, bool, int, int]:
        grid = np.asarray(self.exponent_grid, dtype=float)
        log_loss = np.log(loss)
        starts, grid_sse = projection_starts(log_n, log_d, loss, weights[0], grid, grid)
        chosen = _pick_starts(grid_sse.reshape(grid.size, grid.size), self.n_starts)
        outcome = newton_refine(
            starts[chosen], log_n, log_d, log_loss, weights, self.huber_delta, self.max_iter, self.exponent_bounds
        )
        best = int(np.argmin(np.where(np.isfinite(outcome.objective), outcome.objective, np.inf)))
        best_objective = float(outcome.objective[best])
        same_basin = (
            outcome.objective <= best_objective * (1 + _BASIN_OBJECTIVE_RTOL) + 1e-15
        ) & (np.max(np.abs(outcome.theta - outcome.theta[best]), axis=1) < _BASIN_PARAM_ATOL)
        return (
            outcome.theta[best],
            best_objective,
            bool(outcome.converged[best]),
            int(chosen.size),
            int(same_basin.sum()),
        )


def _identification_warnings(
    theta: np.ndarray, objective: float, log_n: np.ndarray, log_d: np.ndarray, loss: np.ndarray, delta: float,
    exponent_bounds: tuple[float, float], n_best: int, n_starts: int,
) -> list[str]:
    """Signs that the data do not determine the law, as messages (empty for a well-posed fit).

    Args:
        theta: the estimate ``(a, b, e, alpha, beta)``; objective: its mean Huber loss.
        log_n, log_d, loss: the runs used; delta: the Huber threshold.
    """
    lower, upper = exponent_bounds
    messages = []
    # A constant loss at the median (close to the Huber optimum for a small delta): real scaling data
    # cut this objective 3- to 50-fold, pure noise by well under half.
    residual = np.abs(np.log(loss) - np.median(np.log(loss)))
    constant = float(np.mean(np.where(residual <= delta, 0.5 * residual**2, delta * (residual - 0.5 * delta))))
    if objective > _MAX_OBJECTIVE_VS_CONSTANT * constant:
        messages.append(
            f"the law fits the runs barely better than a constant loss (objective {objective:.3g} against "
            f"{constant:.3g}): these runs show little dependence of loss on N or D"
        )
    a, b, _, alpha, beta = theta
    scale = float(np.median(loss))
    for name, exponent, log_coef, log_x, term in (
        ("alpha", alpha, a, log_n, "A / N^alpha"), ("beta", beta, b, log_d, "B / D^beta")
    ):
        for bound in (lower, upper):
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


def _natural(theta: np.ndarray) -> np.ndarray:
    """``(a, b, e, alpha, beta)`` rows -> ``(E, A, B, alpha, beta)`` rows."""
    return np.stack([np.exp(theta[:, 2]), np.exp(theta[:, 0]), np.exp(theta[:, 1]), theta[:, 3], theta[:, 4]], axis=1)


def huber_objective(
    params: dict[str, float], runs: TrainingRuns, huber_delta: float = 1e-3
) -> float:
    """Mean Huber loss of ``runs`` under ``params`` (``E, A, B, alpha, beta``): compare fits on one data set."""
    theta = np.array([[math.log(params["A"]), math.log(params["B"]), math.log(params["E"]),
                       params["alpha"], params["beta"]]])
    n = len(runs)
    value, _, _ = huber_terms(
        theta, np.log(runs.N), np.log(runs.D), np.log(runs.loss), np.full((1, n), 1.0 / n),
        huber_delta, with_derivatives=False,
    )
    return float(value[0])
