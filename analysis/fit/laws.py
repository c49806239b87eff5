"""The scaling laws themselves, defined once: training compute, the parametric loss and power laws.

Every module that evaluates a law (the estimators, the chapters, the charts and ``atlas report``)
takes it from here:

* ``C = 6 N D``: :data:`FLOP_PER_PARAMETER_TOKEN`, :func:`training_flop`, :func:`tokens_at_budget`
  (defined in :mod:`analysis.training_compute`, which the data loaders use too);
* :class:`ParametricLaw`: ``L(N, D) = E + A / N**alpha + B / D**beta`` with its compute-optimal
  allocation ``N_opt(C) = G (C / 6)**a``, ``a = beta / (alpha + beta)``, ``b = alpha / (alpha + beta)``;
* :class:`PowerLaw`: ``N_opt(C) = coefficient * C**exponent`` (the form Approaches 1 and 2 publish);
* :func:`weighted_least_squares`: the one least-squares solver of the trend estimators.

Units throughout: ``N`` in parameters, ``D`` in tokens, ``C`` in FLOP, losses in nats per token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.training_compute import FLOP_PER_PARAMETER_TOKEN as FLOP_PER_PARAMETER_TOKEN
from analysis.training_compute import tokens_at_budget as tokens_at_budget
from analysis.training_compute import training_flop as training_flop

PARAMETER_NAMES = ("E", "A", "B", "alpha", "beta")
"""The five parameters of :class:`ParametricLaw`, in the order results and tables list them."""


def allocation_exponents(alpha: Any, beta: Any) -> tuple[Any, Any]:
    """``(a, b) = (beta / (alpha + beta), alpha / (alpha + beta))``: ``N_opt ∝ C**a``, ``D_opt ∝ C**b``.

    Arrays broadcast; no check that the exponents are positive (see :meth:`ParametricLaw.exponents`).
    """
    total = alpha + beta
    return beta / total, alpha / total


@dataclass(frozen=True)
class ParametricLaw:
    """``L(N, D) = E + A / N**alpha + B / D**beta`` (Chinchilla's Approach 3), loss in nats/token.

    The fields may be floats or numpy arrays of one shape (e.g. a column of bootstrap estimates,
    shape ``(S, 1)``), so the same methods evaluate one law or many at once. Quantities of the
    compute-optimal allocation (``a, b, G``, ``n_opt``, ...) are NaN where the law has no interior
    optimum: an exponent, ``A`` or ``B`` not positive.
    """

    E: Any
    A: Any
    B: Any
    alpha: Any
    beta: Any

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ParametricLaw:
        """The law of a mapping with keys ``E, A, B, alpha, beta`` (other keys are ignored)."""
        return cls(**{name: params[name] for name in PARAMETER_NAMES})

    @property
    def params(self) -> dict[str, float]:
        """``{"E", "A", "B", "alpha", "beta"}`` as floats (scalar laws only)."""
        return {name: float(getattr(self, name)) for name in PARAMETER_NAMES}

    def loss(self, N: Any, D: Any) -> Any:
        """Predicted loss (nats/token) for ``N`` parameters trained on ``D`` tokens (broadcast)."""
        with np.errstate(over="ignore", divide="ignore"):
            return self.E + self.A / np.asarray(N, float) ** self.alpha + self.B / np.asarray(D, float) ** self.beta

    def loss_at_size(self, N: Any, C: Any) -> Any:
        """Predicted loss of ``N`` parameters trained with a budget of ``C`` FLOP (``D = C / 6N``)."""
        N = np.asarray(N, float)
        return self.loss(N, tokens_at_budget(np.asarray(C, float), N))

    def _derived(self) -> dict[str, Any]:
        A, B, alpha, beta = (np.asarray(value, dtype=float) for value in (self.A, self.B, self.alpha, self.beta))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            defined = (alpha > 0) & (beta > 0) & (A > 0) & (B > 0)
            a, b = allocation_exponents(alpha, beta)
            G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        return {"a": np.where(defined, a, np.nan), "b": np.where(defined, b, np.nan), "G": np.where(defined, G, np.nan)}

    @property
    def exponents(self) -> dict[str, float]:
        """``{"a": beta/(alpha+beta), "b": alpha/(alpha+beta)}``: ``N_opt ∝ C**a``, ``D_opt ∝ C**b``."""
        derived = self._derived()
        return {"a": float(derived["a"]), "b": float(derived["b"])}

    @property
    def G(self) -> float:
        """``G = (alpha A / (beta B))**(1 / (alpha + beta))``, so that ``N_opt(C) = G (C / 6)**a``."""
        return float(self._derived()["G"])

    def derived(self) -> dict[str, np.ndarray]:
        """``a``, ``b`` and ``G`` as arrays shaped like the fields (for bootstrap samples)."""
        return self._derived()

    def n_opt(self, C: Any) -> Any:
        """Compute-optimal model size (parameters) at a budget of ``C`` FLOP."""
        derived = self._derived()
        with np.errstate(over="ignore", invalid="ignore"):
            return derived["G"] * (np.asarray(C, float) / FLOP_PER_PARAMETER_TOKEN) ** derived["a"]

    def d_opt(self, C: Any) -> Any:
        """Compute-optimal training tokens at a budget of ``C`` FLOP."""
        derived = self._derived()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return (np.asarray(C, float) / FLOP_PER_PARAMETER_TOKEN) ** derived["b"] / derived["G"]

    def tokens_per_parameter(self, C: Any) -> Any:
        """``D_opt / N_opt`` (tokens per parameter) at a budget of ``C`` FLOP."""
        return self.d_opt(C) / self.n_opt(C)

    def loss_at_budget(self, C: Any) -> Any:
        """Lowest predicted loss (nats/token) reachable with ``C`` FLOP."""
        return self.loss(self.n_opt(C), self.d_opt(C))

    def compute_for_loss(self, L: Any) -> Any:
        """FLOP needed to reach loss ``L`` at the compute-optimal allocation (``inf`` if ``L <= E``).

        At the optimum both reducible terms scale as ``(C/6)**(-alpha beta/(alpha+beta))``, so
        ``L - E = K (C/6)**-gamma`` with ``K = A G**-alpha + B G**beta`` inverts in closed form.
        """
        E, A, B, alpha, beta = (np.float64(getattr(self, name)) for name in PARAMETER_NAMES)
        G = self.G
        excess = np.asarray(L, float) - E
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            gamma = alpha * beta / (alpha + beta)
            K = A * G**-alpha + B * G**beta
            flop = FLOP_PER_PARAMETER_TOKEN * (K / excess) ** (1.0 / gamma)
        return np.where(np.isnan(G) | (excess > 0), flop, np.inf)

    def isoloss_tokens(self, level: float, N: Any) -> np.ndarray:
        """Tokens at which ``N`` parameters reach loss ``level``: NaN where ``level`` is out of reach."""
        headroom = level - self.E - self.A / np.asarray(N, float) ** self.alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(headroom > 0, (self.B / np.where(headroom > 0, headroom, 1.0)) ** (1.0 / self.beta), np.nan)


@dataclass(frozen=True)
class PowerLaw:
    """``N_opt(C) = n_ref * (C / c_ref)**exponent``: compute-optimal parameters at a budget of ``C`` FLOP.

    Anchored at a reference budget ``c_ref`` (FLOP) where the law gives ``n_ref`` parameters; the
    plain form ``k C**a`` is ``PowerLaw(a, c_ref=1, n_ref=k)``.
    """

    exponent: float
    c_ref: float
    n_ref: float

    @property
    def coefficient(self) -> float:
        """``k`` of ``N_opt = k C**exponent``."""
        return float(self.n_ref / self.c_ref**self.exponent)

    def __call__(self, C: Any) -> Any:
        """``n_ref * (C / c_ref)**exponent`` (broadcast over ``C``)."""
        return self.n_ref * (np.asarray(C, float) / self.c_ref) ** self.exponent

    def at(self, C: float) -> float:
        """The law's value at one budget ``C`` (FLOP), as a float."""
        return float(self(C))


def weighted_least_squares(design: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of ``y ~ design`` for each row of ``weights``: the one solver of every linear fit
    (the trends, the IsoFLOP parabolas and the power laws through the optima).

    Args:
        design: ``(n, k)`` regressors (include a column of ones for an intercept).
        y: ``(n,)`` responses, or ``(S, n)``: one set per row of ``weights``.
        weights: ``(n,)`` or ``(S, n)`` non-negative weights (bootstrap resamples as counts; 0 leaves a
            point out, so a response that is NaN where its weight is 0 is ignored).

    Returns:
        ``(k,)`` or ``(S, k)`` coefficients; a row whose weighted design does not have full rank
        (e.g. a resample with a single distinct x) is NaN. Each row is solved by the singular value
        decomposition of its weighted design (as ``numpy.linalg.lstsq``, all rows at once); a singular
        value below ``max(n, k)`` machine epsilons of the largest counts as zero (``lstsq``'s rule).
    """
    design = np.asarray(design, float)
    single = np.ndim(weights) == 1 and np.ndim(y) == 1
    weights = np.atleast_2d(np.asarray(weights, float))
    y = np.asarray(y, float)
    rows = max(weights.shape[0], y.shape[0] if y.ndim == 2 else 1)
    weights = np.broadcast_to(weights, (rows, design.shape[0]))
    y = np.where(weights > 0, np.broadcast_to(y, (rows, design.shape[0])), 0.0)
    root = np.sqrt(weights)
    left, singular, right = np.linalg.svd(design[None] * root[:, :, None], full_matrices=False)
    cutoff = singular[:, :1] * max(design.shape) * np.finfo(float).eps
    full_rank = np.all(singular > cutoff, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        projected = np.einsum("snk,sn->sk", left, y * root) / singular
    coef = np.einsum("skj,sk->sj", right, np.where(full_rank[:, None], projected, np.nan))
    return coef[0] if single else coef
