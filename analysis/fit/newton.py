"""The parametric fit's objective and its solver: the Huber loss of ``log L(N, D)`` and a batched, bounded Newton method.

The law ``L(N, D) = E + A / N**alpha + B / D**beta`` is fitted in log space: a run's residual is
``log L(N, D) - log loss`` and the objective a weighted sum of Huber losses of the residuals. Weights
are rows of ``(S, n)``: ``S`` problems at once (Newton starts, or bootstrap resamples as run counts).

The papers write the parameters as ``theta = (a, b, e, alpha, beta)`` with ``a = log A``, ``b = log B``,
``e = log E`` (:func:`huber_terms` takes them so). The solver works in ``phi = (a, b, E, alpha, beta)``:
with ``E`` itself, a fit whose best irreducible loss is 0 ends on the bound ``E = 0`` instead of
walking towards ``e = -inf`` without end, which is what runs that show no loss floor make a log-``E``
fit do. ``A`` and ``B`` stay in logs (they span many decades), above a floor that stands for 0
(:data:`COEFFICIENT_FLOOR_NATS`).

Every sum over runs is taken over blocks of runs (:data:`BLOCK_ELEMENTS`), so the memory an
evaluation needs does not grow with the number of runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_PARAMETERS = 5

BLOCK_ELEMENTS = 2**18
"""Problems times runs evaluated at once. An evaluation keeps about 30 temporary arrays of this many
floats (about 60 MB), whatever the number of runs."""

COEFFICIENT_FLOOR_NATS = 30.0
"""``log A`` and ``log B`` are kept above ``log(smallest loss) - 30``. There a term is below ``e**-30``
(about 1e-13) of every loss, so the floor stands for a coefficient of 0."""

STEP_TOL = 1e-9
"""A start has converged when its Newton step is below this in every parameter (unless given other tolerances)."""

OBJECTIVE_RESOLUTION = 1e-13
"""Relative change of the objective below which a sum over runs cannot tell two points apart (rounding):
a Newton step promising less has nothing left to gain."""

_INITIAL_DAMPING = 1e-4
_SMALLEST_DAMPING = 1e-12
_STUCK_DAMPING = 1e12
_GRADIENT_TOL = 1e-9
"""Projected gradient (relative to the Huber threshold) at which a start has converged outright."""
_STUCK_GRADIENT_TOL = 1e-6
"""A start whose steps all fail counts as converged if its projected gradient is below this (relative to the threshold)."""


def design(log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """Per-run basis ``[1, log N, log D, log N^2, log D^2, log N log D]``, shape ``(n, 6)``."""
    return np.stack([np.ones_like(log_n), log_n, log_d, log_n * log_n, log_d * log_d, log_n * log_d], axis=-1)


def default_bounds(
    log_loss: np.ndarray, exponent_bounds: tuple[float, float], fixed: dict[str, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of ``phi = (a, b, E, alpha, beta)``, each ``(5,)``: ``a`` and ``b`` above the floor
    (:data:`COEFFICIENT_FLOOR_NATS`), ``E >= 0``, the exponents in ``exponent_bounds``, a fixed exponent at its value."""
    floor = float(np.min(log_loss)) - COEFFICIENT_FLOOR_NATS
    lower = np.array([floor, floor, 0.0, exponent_bounds[0], exponent_bounds[0]])
    upper = np.array([np.inf, np.inf, np.inf, exponent_bounds[1], exponent_bounds[1]])
    for index, name in ((3, "alpha"), (4, "beta")):
        if fixed and name in fixed:
            lower[index] = upper[index] = fixed[name]
    return lower, upper


def to_solver(theta: np.ndarray) -> np.ndarray:
    """``(a, b, e, alpha, beta)`` rows -> ``phi = (a, b, E, alpha, beta)`` rows."""
    phi = np.array(theta, dtype=float, copy=True)
    phi[..., 2] = np.exp(phi[..., 2])
    return phi


def natural(phi: np.ndarray) -> np.ndarray:
    """``phi = (a, b, E, alpha, beta)`` rows -> ``(E, A, B, alpha, beta)`` rows."""
    return np.stack([phi[:, 2], np.exp(phi[:, 0]), np.exp(phi[:, 1]), phi[:, 3], phi[:, 4]], axis=1)


@dataclass(frozen=True)
class _ModelState:
    """Per-row, per-run quantities of the model at some ``phi`` (all ``(S, b)``)."""

    residual: np.ndarray  # log prediction - log loss
    p1: np.ndarray  # A N^-alpha / prediction
    p2: np.ndarray  # B D^-beta / prediction
    p3: np.ndarray  # 1 / prediction (the derivative of log prediction in E)
    share_e: np.ndarray  # E / prediction


def _model(phi: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray) -> _ModelState:
    a, b, E, alpha, beta = (phi[:, i : i + 1] for i in range(N_PARAMETERS))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # Every term relative to the observed loss, so the ratios stay near 1 whatever the scale.
        t1 = a - alpha * log_n
        t1 -= log_loss
        np.exp(t1, out=t1)
        t2 = b - beta * log_d
        t2 -= log_loss
        np.exp(t2, out=t2)
        inverse_loss = np.exp(-log_loss)
        t3 = E * inverse_loss
        ratio = t1 + t2
        ratio += t3
        residual = np.log(ratio)
        np.divide(1.0, ratio, out=ratio)
        t1 *= ratio
        t2 *= ratio
        t3 *= ratio
        ratio *= inverse_loss
    return _ModelState(residual, t1, t2, ratio, t3)


def _huber(residual: np.ndarray, delta: float) -> np.ndarray:
    """Branch-free Huber loss: ``delta (|r| - delta/2) + max(delta - |r|, 0)**2 / 2``."""
    size = np.abs(residual)
    inside = np.maximum(delta - size, 0.0)
    return delta * (size - 0.5 * delta) + 0.5 * inside * inside


def _jacobian(state: _ModelState, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """``(S, b, 5)``: ``d residual / d phi = [p1, p2, p3, -p1 log N, -p2 log D]`` of every run."""
    jacobian = np.empty((*state.p1.shape, N_PARAMETERS))
    jacobian[..., 0] = state.p1
    jacobian[..., 1] = state.p2
    jacobian[..., 2] = state.p3
    np.multiply(state.p1, log_n, out=jacobian[..., 3])
    np.negative(jacobian[..., 3], out=jacobian[..., 3])
    np.multiply(state.p2, log_d, out=jacobian[..., 4])
    np.negative(jacobian[..., 4], out=jacobian[..., 4])
    return jacobian


def _weights_of_terms(
    state: _ModelState, weights: np.ndarray, delta: float, majorise: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``(q, c)``, each ``(S, b)``: ``q = w psi(r)`` weighs the gradient, ``c = w (curvature - psi(r))`` the ``J J^T``
    part of the Hessian.

    The curvature is the Huber loss's own, 1 inside the threshold and 0 beyond it, or with ``majorise`` that of
    the quadratic touching the Huber loss from above at ``r``, ``delta / |r|`` beyond the threshold.
    """
    size = np.abs(state.residual)
    q = np.clip(state.residual, -delta, delta)
    q *= weights
    if majorise:
        curvature = delta / np.maximum(size, delta)
    else:
        curvature = (size < delta).astype(float)
    curvature *= weights
    curvature -= q
    return q, curvature


def _derivatives(
    state: _ModelState, weights: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, delta: float, majorise: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient ``(S, 5)`` and Hessian ``(S, 5, 5)`` in ``phi`` summed over a block of runs.

    The Hessian is ``sum c J J^T`` plus ``psi`` times the second derivatives of the prediction over the
    prediction: only the ``A`` and ``B`` terms have them (the prediction is linear in ``E``), and they are
    ``p1 [1, -log N, log N^2]`` on ``(a, alpha)`` and ``p2 [1, -log D, log D^2]`` on ``(b, beta)``.
    """
    q, c = _weights_of_terms(state, weights, delta, majorise)
    jacobian = _jacobian(state, log_n, log_d)
    gradient = np.matmul(q[:, None, :], jacobian)[:, 0]
    hessian = np.matmul(np.swapaxes(jacobian * c[..., None], 1, 2), jacobian)
    second_n = -(q * jacobian[..., 3]) @ log_n  # sum of q p1 log N^2
    second_d = -(q * jacobian[..., 4]) @ log_d
    for (i, j), value in {(0, 0): gradient[:, 0], (0, 3): gradient[:, 3], (3, 3): second_n,
                          (1, 1): gradient[:, 1], (1, 4): gradient[:, 4], (4, 4): second_d}.items():
        hessian[:, i, j] += value
        if i != j:
            hessian[:, j, i] += value
    return gradient, hessian


def _blocks(n_runs: int, n_rows: int) -> list[slice]:
    size = max(1, BLOCK_ELEMENTS // max(n_rows, 1))
    return [slice(start, min(start + size, n_runs)) for start in range(0, n_runs, size)]


def solver_terms(
    phi: np.ndarray,
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_loss: np.ndarray,
    weights: np.ndarray,
    delta: float,
    with_derivatives: bool = True,
    majorise: bool = False,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """Weighted Huber objective ``(S,)`` at ``phi`` ``(S, 5)`` and, with derivatives, its gradient ``(S, 5)`` and
    Hessian ``(S, 5, 5)`` in ``phi`` (see :func:`huber_terms`); with ``majorise`` the Hessian of the Huber
    majoriser at ``phi`` instead (:func:`_weights_of_terms`)."""
    phi = np.atleast_2d(phi)
    n_rows, n_runs = phi.shape[0], log_n.shape[0]
    weights = np.broadcast_to(weights, (n_rows, n_runs))
    objective = np.zeros(n_rows)
    gradient = np.zeros((n_rows, N_PARAMETERS))
    hessian = np.zeros((n_rows, N_PARAMETERS, N_PARAMETERS))
    for block in _blocks(n_runs, n_rows):
        state = _model(phi, log_n[block], log_d[block], log_loss[block])
        w = weights[:, block]
        objective += np.einsum("sn,sn->s", w, _huber(state.residual, delta))
        if with_derivatives:
            block_gradient, block_hessian = _derivatives(state, w, log_n[block], log_d[block], delta, majorise)
            gradient += block_gradient
            hessian += block_hessian
    return objective, (gradient, hessian) if with_derivatives else None


def huber_terms(
    theta: np.ndarray,
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_loss: np.ndarray,
    weights: np.ndarray,
    delta: float,
    with_derivatives: bool = True,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Weighted Huber objective of the log-space model, with its exact gradient and Hessian in ``theta``.

    Args:
        theta: ``(S, 5)`` rows of ``(a, b, e, alpha, beta)`` (``e = log E``).
        log_n, log_d, log_loss: ``(n,)`` logs of parameters, tokens and loss.
        weights: ``(S, n)`` (or ``(n,)``, shared) non-negative run weights per row.
        delta: Huber threshold (in log-loss units).
        with_derivatives: also return the gradient ``(S, 5)`` and Hessian ``(S, 5, 5)``.

    Returns:
        ``(objective (S,), gradient or None, Hessian or None)``.
    """
    theta = np.atleast_2d(theta)
    objective, derivatives = solver_terms(to_solver(theta), log_n, log_d, log_loss, weights, delta, with_derivatives)
    if derivatives is None:
        return objective, None, None
    gradient, hessian = derivatives
    # Chain rule for E = exp(e): d/de = E d/dE, d2/de2 = E^2 d2/dE2 + E d/dE.
    scale = np.ones_like(theta)
    scale[:, 2] = np.exp(theta[:, 2])
    hessian = hessian * scale[:, :, None] * scale[:, None, :]
    hessian[:, 2, 2] += gradient[:, 2] * scale[:, 2]
    return objective, gradient * scale, hessian


SHARE_COLUMNS = 1 + N_PARAMETERS + N_PARAMETERS**2 + 2
"""Columns of :func:`run_shares`: the objective, the gradient, the ``J J^T`` part of the Hessian and its two
second-derivative terms."""


def run_shares(phi: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray, delta: float) -> np.ndarray:
    """``(n, SHARE_COLUMNS)``: each run's share of the objective and its derivatives at one ``phi`` ``(5,)``.

    Objective and derivatives are linear in the run weights, so for any weights ``w`` ``(S, n)``,
    :func:`terms_from_sums` of ``w @ shares`` is :func:`solver_terms` at ``phi``: the first Newton step of every
    bootstrap resample from one evaluation.
    """
    shares = np.empty((log_n.shape[0], SHARE_COLUMNS))
    for block in _blocks(log_n.shape[0], SHARE_COLUMNS):
        state = _model(phi[None], log_n[block], log_d[block], log_loss[block])
        q, c = (part[0] for part in _weights_of_terms(state, np.ones((1, block.stop - block.start)), delta, False))
        jacobian = _jacobian(state, log_n[block], log_d[block])[0]  # (b, 5)
        part = shares[block]
        part[:, 0] = _huber(state.residual[0], delta)
        part[:, 1:6] = q[:, None] * jacobian
        part[:, 6:31] = (c[:, None, None] * jacobian[:, :, None] * jacobian[:, None, :]).reshape(-1, 25)
        part[:, 31] = -part[:, 4] * log_n[block]  # q p1 log N^2
        part[:, 32] = -part[:, 5] * log_d[block]  # q p2 log D^2
    return shares


def terms_from_sums(sums: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Objective ``(S,)``, gradient ``(S, 5)`` and Hessian ``(S, 5, 5)`` from weighted sums ``(S, SHARE_COLUMNS)`` of
    :func:`run_shares`."""
    n_rows = sums.shape[0]
    gradient = sums[:, 1:6].copy()
    hessian = sums[:, 6:31].reshape(n_rows, N_PARAMETERS, N_PARAMETERS).copy()
    for (i, j), value in {(0, 0): gradient[:, 0], (0, 3): gradient[:, 3], (3, 3): sums[:, 31],
                          (1, 1): gradient[:, 1], (1, 4): gradient[:, 4], (4, 4): sums[:, 32]}.items():
        hessian[:, i, j] += value
        if i != j:
            hessian[:, j, i] += value
    return sums[:, 0].copy(), (gradient, hessian)


def resample_terms(
    phi: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray, weights: np.ndarray, delta: float
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """:func:`solver_terms` at one ``phi`` ``(5,)`` for many weight rows ``(S, n)`` at the cost of one evaluation
    (:func:`run_shares`)."""
    return terms_from_sums(weights @ run_shares(phi, log_n, log_d, log_loss, delta))


def sandwich_standard_errors(
    phi: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray, delta: float,
    lower: np.ndarray, upper: np.ndarray,
) -> np.ndarray:
    """Asymptotic standard errors ``(5,)`` of the estimate ``phi`` ``(5,)`` of the mean Huber loss (the M-estimator
    sandwich ``H^-1 (sum g_i g_i^T) H^-1 / n^2``), over the parameters not held on a bound; 0 for those, NaN where the
    Hessian is singular. A yardstick for how precisely a refit must converge, not a reported interval."""
    n_runs = log_n.shape[0]
    outer = np.zeros((N_PARAMETERS, N_PARAMETERS))
    for block in _blocks(n_runs, 1):
        state = _model(phi[None], log_n[block], log_d[block], log_loss[block])
        clipped = np.clip(state.residual[0], -delta, delta)
        jacobian = np.stack([state.p1[0], state.p2[0], state.p3[0],
                             -state.p1[0] * log_n[block], -state.p2[0] * log_d[block]], axis=1)
        per_run = clipped[:, None] * jacobian
        outer += per_run.T @ per_run
    _, derivatives = solver_terms(phi[None], log_n, log_d, log_loss, np.full(n_runs, 1.0 / n_runs), delta)
    assert derivatives is not None
    gradient, hessian = derivatives
    free = _free_parameters(phi[None], gradient, lower, upper)[0]
    errors = np.zeros(N_PARAMETERS)
    inner = hessian[0][np.ix_(free, free)] * n_runs
    try:
        inverse = np.linalg.inv(inner)
    except np.linalg.LinAlgError:
        errors[free] = np.nan
        return errors
    covariance = inverse @ outer[np.ix_(free, free)] @ inverse
    with np.errstate(invalid="ignore"):
        errors[free] = np.sqrt(np.diagonal(covariance))
    return errors


@dataclass(frozen=True)
class NewtonOutcome:
    """End points of :func:`newton_refine`, one row per problem."""

    phi: np.ndarray  # (S, 5): (a, b, E, alpha, beta)
    objective: np.ndarray  # (S,)
    converged: np.ndarray  # (S,) bool
    iterations: np.ndarray  # (S,) int


def newton_refine(
    phi0: np.ndarray,
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_loss: np.ndarray,
    weights: np.ndarray,
    delta: float,
    max_iter: int = 200,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    tolerance: np.ndarray | None = None,
    initial: tuple[np.ndarray, tuple[np.ndarray, np.ndarray]] | None = None,
) -> NewtonOutcome:
    """Batched, bound-constrained Newton method, one problem per row of ``phi0``.

    Args:
        phi0: ``(S, 5)`` starts ``(a, b, E, alpha, beta)``; weights: ``(S, n)`` or ``(n,)`` run weights;
            delta: Huber threshold.
        max_iter: iterations per row at most (a row still moving then has not converged).
        bounds: ``(lower, upper)``, each ``(5,)`` (default: :func:`default_bounds` with exponents in ``[0, 5]``).
            A parameter on a bound whose gradient points outwards is held there (projected Newton), the others
            take the step, and the trial point is clipped into the box; equal bounds fix a parameter.
        tolerance: ``(5,)`` or ``(S, 5)``: a row has converged when its Newton step is below this in every
            parameter (default :data:`STEP_TOL`).
        initial: the objective and :func:`solver_terms`' derivatives at ``phi0`` when already known (e.g. from
            :func:`resample_terms`), saving their evaluation. Such a start is taken to be near the optimum (a
            bootstrap refit starting from the estimate): its first steps are full Newton steps, which land on a
            nearby optimum of a smooth objective in two or three; a cold start begins damped.

    Each iteration tries a (damped) Newton step on the exact Hessian; where it does not lower the objective,
    a step on the Hessian of the Huber majoriser instead (:func:`_weights_of_terms`), damped Levenberg-Marquardt
    style until it does. The exact Hessian gives a residual beyond the threshold no curvature, so with a
    threshold as small as the papers' (``1e-3``, most residuals beyond it) its steps overshoot far from the
    optimum; the majoriser's steps always descend but approach the optimum slowly; together they are fast
    and safe. A row has converged when its undamped Newton step, the distance to the optimum of the local
    quadratic model, is below ``tolerance`` or would lower the objective by less than floating point resolves
    (:data:`OBJECTIVE_RESOLUTION`; the exact Hessian positive definite on the parameters not held on a bound),
    or its projected gradient vanishes; when no damped step lowers the objective any more, it
    counts as converged only if its projected gradient is negligible.
    """
    phi = np.array(phi0, dtype=float, copy=True)
    n_rows = phi.shape[0]
    lower, upper = bounds if bounds is not None else default_bounds(log_loss, (0.0, 5.0))
    problem = _NewtonProblem(
        log_n, log_d, log_loss, np.broadcast_to(weights, (n_rows, log_n.shape[0])), delta, lower, upper,
        np.broadcast_to(STEP_TOL if tolerance is None else tolerance, (n_rows, N_PARAMETERS)),
    )
    state = _starting_state(phi, problem, initial)
    for _ in range(max_iter):
        if not _newton_iteration(state, problem):
            break
    return NewtonOutcome(phi=state.phi, objective=state.objective, converged=state.converged, iterations=state.iterations)


@dataclass(frozen=True)
class _NewtonProblem:
    """What :func:`newton_refine` solves: the runs' logs ``(n,)``, the weights ``(S, n)``, the Huber threshold
    ``delta``, the box ``lower``, ``upper`` ``(5,)`` and the step ``tolerance`` ``(S, 5)``."""

    log_n: np.ndarray
    log_d: np.ndarray
    log_loss: np.ndarray
    weights: np.ndarray
    delta: float
    lower: np.ndarray
    upper: np.ndarray
    tolerance: np.ndarray

    def terms(self, phi: np.ndarray, rows: np.ndarray | slice, majorise: bool = False
              ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """:func:`solver_terms` at ``phi`` ``(k, 5)`` with the weights of ``rows``: objective ``(k,)``, gradient
        ``(k, 5)`` and Hessian ``(k, 5, 5)`` (of the majoriser with ``majorise``)."""
        objective, derivatives = solver_terms(phi, self.log_n, self.log_d, self.log_loss, self.weights[rows],
                                              self.delta, majorise=majorise)
        assert derivatives is not None
        return objective, derivatives


@dataclass
class _NewtonState:
    """Where every row of :func:`newton_refine` stands, updated in place: ``phi`` ``(S, 5)``, its ``objective``
    ``(S,)``, ``gradient`` ``(S, 5)`` and ``hessian`` ``(S, 5, 5)``, the damping ``(S,)`` of the exact and the
    majoriser steps, and per row whether it is still ``active``, has ``converged``, and its ``iterations``."""

    phi: np.ndarray
    objective: np.ndarray
    gradient: np.ndarray
    hessian: np.ndarray
    exact_damping: np.ndarray
    majoriser_damping: np.ndarray
    active: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray


def _starting_state(
    phi: np.ndarray, problem: _NewtonProblem, initial: tuple[np.ndarray, tuple[np.ndarray, np.ndarray]] | None,
) -> _NewtonState:
    """The state at the starts ``phi`` ``(S, 5)``: clipped into the box and evaluated, unless ``initial`` gives the
    terms at starts already inside it (then taken to be near the optimum: the exact steps start undamped)."""
    n_rows = phi.shape[0]
    if initial is not None and np.array_equal(phi, np.clip(phi, problem.lower, problem.upper)):
        objective = np.array(initial[0], dtype=float, copy=True)
        gradient, hessian = (np.array(part, dtype=float, copy=True) for part in initial[1])
    else:
        phi = np.clip(phi, problem.lower, problem.upper)
        objective, (gradient, hessian) = problem.terms(phi, slice(None))
    return _NewtonState(
        phi=phi, objective=objective, gradient=gradient, hessian=hessian,
        exact_damping=np.full(n_rows, 0.0 if initial is not None else _INITIAL_DAMPING),
        majoriser_damping=np.full(n_rows, _INITIAL_DAMPING),
        active=np.ones(n_rows, dtype=bool), converged=np.zeros(n_rows, dtype=bool), iterations=np.zeros(n_rows, dtype=int),
    )


def _newton_iteration(state: _NewtonState, problem: _NewtonProblem) -> bool:
    """One iteration of :func:`newton_refine` on the active rows: retire those that have converged, try an exact
    Newton step on the others, and where it fails a majoriser step. False when no row is left active."""
    rows = np.flatnonzero(state.active)
    if rows.size == 0:
        return False
    free = _free_parameters(state.phi[rows], state.gradient[rows], problem.lower, problem.upper)
    free_gradient = np.where(free, state.gradient[rows], 0.0)
    done = _has_converged(state.objective[rows], state.hessian[rows], free_gradient, free, problem.tolerance[rows],
                          problem.delta)
    state.converged[rows[done]] = True
    state.active[rows[done]] = False
    rows, free, free_gradient = rows[~done], free[~done], free_gradient[~done]
    if rows.size == 0:
        return False
    state.iterations[rows] += 1
    kept = _try_steps(state, problem, rows, _bounded_steps(state.phi[rows], state.hessian[rows], free_gradient, free,
                                                           state.exact_damping[rows], problem.lower, problem.upper))
    state.exact_damping[rows] = _next_exact_damping(state.exact_damping[rows], kept)
    rows, free, free_gradient = rows[~kept], free[~kept], free_gradient[~kept]
    if rows.size == 0:
        return True
    _, (_, majoriser_hessian) = problem.terms(state.phi[rows], rows, majorise=True)
    kept = _try_steps(state, problem, rows, _bounded_steps(state.phi[rows], majoriser_hessian, free_gradient, free,
                                                           state.majoriser_damping[rows], problem.lower, problem.upper))
    state.majoriser_damping[rows] = np.where(kept, np.maximum(state.majoriser_damping[rows] * 0.1, _SMALLEST_DAMPING),
                                             state.majoriser_damping[rows] * 10.0)
    stuck = rows[state.majoriser_damping[rows] > _STUCK_DAMPING]
    if stuck.size:
        free = _free_parameters(state.phi[stuck], state.gradient[stuck], problem.lower, problem.upper)
        largest = np.max(np.abs(np.where(free, state.gradient[stuck], 0.0)), axis=1)
        state.converged[stuck] = largest <= _STUCK_GRADIENT_TOL * problem.delta
        state.active[stuck] = False
    return True


def _has_converged(
    objective: np.ndarray, hessian: np.ndarray, free_gradient: np.ndarray, free: np.ndarray, tolerance: np.ndarray,
    delta: float,
) -> np.ndarray:
    """``(k,)`` mask of the rows done: the undamped Newton step on the ``free`` parameters (``(k, 5)``, the gradient
    0 on the others) is below ``tolerance`` ``(k, 5)``, or promises less than :data:`OBJECTIVE_RESOLUTION` of the
    ``objective`` ``(k,)`` (exact ``hessian`` ``(k, 5, 5)`` positive definite), or the projected gradient vanishes."""
    newton = _newton_steps(hessian, free_gradient, free, None)  # NaN unless positive definite
    small_step = np.all(np.abs(newton) <= tolerance, axis=1)
    decrease = -np.einsum("si,si->s", free_gradient, newton)  # twice what the quadratic model promises
    unresolvable = decrease <= OBJECTIVE_RESOLUTION * np.abs(objective)
    return small_step | unresolvable | (np.max(np.abs(free_gradient), axis=1) <= _GRADIENT_TOL * delta)


def _try_steps(state: _NewtonState, problem: _NewtonProblem, rows: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Evaluate ``phi[rows] + steps`` (``(k, 5)``, clipped into the box) and move the rows where the objective does
    not rise (state updated in place); returns which moved, ``(k,)``."""
    trial = np.clip(state.phi[rows] + steps, problem.lower, problem.upper)
    trial_objective, trial_derivatives = problem.terms(trial, rows)
    kept = np.isfinite(trial_objective) & (trial_objective <= state.objective[rows])
    moved = rows[kept]
    state.phi[moved], state.objective[moved] = trial[kept], trial_objective[kept]
    for store, part in zip((state.gradient, state.hessian), trial_derivatives, strict=True):
        store[moved] = part[kept]
    return kept


def _next_exact_damping(damping: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """The exact steps' damping ``(k,)`` after a round whose steps were ``kept`` or not: undamped until a full step
    fails (near the optimum of a smooth objective it never does), then tenfold up on failure, down on success."""
    return np.where(kept, np.where(damping > 0, np.maximum(damping * 0.1, _SMALLEST_DAMPING), 0.0),
                    np.clip(damping * 10.0, _INITIAL_DAMPING, 1.0))


def _bounded_steps(
    phi: np.ndarray, hessian: np.ndarray, gradient: np.ndarray, free: np.ndarray, damping: np.ndarray,
    lower: np.ndarray, upper: np.ndarray,
) -> np.ndarray:
    """Newton steps ``(S, 5)`` that respect the bounds: a parameter the step would carry past a bound goes to the
    bound and is held there while the others take the Newton step given that move (clipping alone would leave
    them where the step assumed it free, and the trial often fails: an optimum on ``E = 0`` was then approached
    in hundreds of small steps)."""
    steps = _newton_steps(hessian, gradient, free, damping)
    target = phi + steps
    hit = free & ((target < lower) | (target > upper))
    if not hit.any():
        return steps
    to_bound = np.where(hit, np.clip(target, lower, upper) - phi, 0.0)
    shifted = gradient + np.einsum("sij,sj->si", hessian, to_bound)
    rest = free & ~hit
    return np.where(hit, to_bound, np.where(rest, _newton_steps(hessian, np.where(rest, shifted, 0.0), rest, damping), 0.0))


def _newton_steps(hessian: np.ndarray, gradient: np.ndarray, free: np.ndarray, damping: np.ndarray | None) -> np.ndarray:
    """Steps ``-(H + damping diag|H|)^-1 g`` on the free parameters, 0 on the others, ``(S, 5)`` (a singular system
    is solved by least squares).

    Undamped (``damping`` None) the step is NaN where ``H`` is not positive definite on the free parameters.
    """
    identity = np.eye(N_PARAMETERS)
    system = np.where(free[:, :, None] & free[:, None, :], hessian, 0.0) + (~free)[:, :, None] * identity
    if damping is not None:
        diag = np.maximum(np.abs(np.diagonal(system, axis1=1, axis2=2)), 1e-12)
        system = system + damping[:, None, None] * (diag[:, :, None] * identity)
        try:
            return np.linalg.solve(system, -gradient[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return np.stack([np.linalg.lstsq(m, -g, rcond=None)[0] for m, g in zip(system, gradient, strict=True)])
    steps = np.full(gradient.shape, np.nan)
    definite = np.linalg.eigvalsh(system)[:, 0] > 0
    if definite.any():
        steps[definite] = np.linalg.solve(system[definite], -gradient[definite][..., None])[..., 0]
    return steps


def _free_parameters(phi: np.ndarray, gradient: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``(S, 5)`` mask: False for a parameter held on a bound by a gradient pointing out of the box (or fixed)."""
    return ~(((phi <= lower) & (gradient > 0)) | ((phi >= upper) & (gradient < 0)) | (lower == upper))


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
    ``w / loss**2``) on every grid point at once (sums over blocks of runs). Returns ``theta`` rows
    ``(a, b, e, alpha, beta)`` (``e = log E``; :func:`to_solver` turns them into the solver's ``phi``), shape
    ``(len(alphas) * len(betas), 5)``, alpha varying slowest, and each row's weighted sum of squared relative
    errors (up to a constant), shape ``(len(alphas) * len(betas),)``.
    """
    n_ref, d_ref = float(np.average(log_n, weights=weights)), float(np.average(log_d, weights=weights))
    n_alpha, n_beta = alphas.size, betas.size
    s11, s10, s1y = np.zeros(n_alpha), np.zeros(n_alpha), np.zeros(n_alpha)
    s22, s20, s2y = np.zeros(n_beta), np.zeros(n_beta), np.zeros(n_beta)
    s12 = np.zeros((n_alpha, n_beta))
    for block in _blocks(log_n.shape[0], n_alpha + n_beta):
        w = weights[block] / loss[block] ** 2
        y = loss[block]
        x1 = np.exp(-np.outer(alphas, log_n[block] - n_ref))  # (Ga, b): N^-alpha, rescaled to order 1
        x2 = np.exp(-np.outer(betas, log_d[block] - d_ref))  # (Gb, b)
        s11 += (x1 * x1) @ w
        s22 += (x2 * x2) @ w
        s12 += (x1 * w) @ x2.T
        s10 += x1 @ w
        s20 += x2 @ w
        s1y += x1 @ (w * y)
        s2y += x2 @ (w * y)
    shape = (n_alpha, n_beta)
    w_all = weights / loss**2
    columns = [
        [np.broadcast_to(s11[:, None], shape), s12, np.broadcast_to(s10[:, None], shape)],
        [s12, np.broadcast_to(s22[None, :], shape), np.broadcast_to(s20[None, :], shape)],
        [np.broadcast_to(s10[:, None], shape), np.broadcast_to(s20[None, :], shape), np.full(shape, w_all.sum())],
    ]
    gram = np.stack([np.stack(row, -1) for row in columns], -2).reshape(-1, 3, 3)
    moment = np.stack([np.broadcast_to(s1y[:, None], shape), np.broadcast_to(s2y[None, :], shape),
                       np.full(shape, w_all @ loss)], -1).reshape(-1, 3)
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
    grid_alpha = np.repeat(alphas, n_beta)
    grid_beta = np.tile(betas, n_alpha)
    theta = np.stack(
        [np.log(coef[:, 0]) + grid_alpha * n_ref, np.log(coef[:, 1]) + grid_beta * d_ref, np.log(coef[:, 2]),
         grid_alpha, grid_beta],
        axis=1,
    )
    return theta, -best_gain


def pick_starts(objective_grid: np.ndarray, n_starts: int) -> np.ndarray:
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
