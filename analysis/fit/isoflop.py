"""IsoFLOP profiles (Chinchilla Approach 2) and the result shared with the envelope fit.

Runs are grouped by FLOP budget. Within a budget, the loss profile over model size gives the
compute-optimal size ``N_opt(C)`` and tokens ``D_opt(C) = C / (6 N_opt)``; across budgets,
``N_opt = k_N C**a`` and ``D_opt = k_D C**b`` are fitted by least squares in log-log space. Two
ways to read ``N_opt`` off a profile (``IsoFLOPFit(method=...)``):

* ``"parabola"`` (Hoffmann et al. 2022): one parabola in ``log10 N`` through all of the budget's
  runs; its vertex is ``N_opt``. A budget is reported but left out when it has too few runs, its
  parabola opens downwards, or the vertex lies outside the sizes it sampled. When the sampled
  sizes reach far from the optimum, the profile is not symmetric in ``log N`` and the vertex is
  pulled off the minimum: how far depends on how the sizes sit around the optimum, which changes
  from budget to budget, so the exponent is biased too.
* ``"interpolation"`` (Porian et al. 2024): an Akima spline through ``(log10 N, ln loss)`` of the
  best run at each size, searched on a fine grid; its lowest point is ``N_opt``, so only the runs
  next to the minimum decide it. With a bootstrap, each budget's ``N_opt`` is the median of its
  resampled minima and the power laws are fitted with weights ``1 / sd**2``, ``sd`` being the
  spread of the resampled ``log10 N_opt``. A budget is left out when the minimum lies at the edge
  of the sampled sizes (in the fit, or in more than half of the resamples).

The bootstrap either resamples runs *within* each budget (a stratified bootstrap keeps the design:
every resample has the same budgets with the same numbers of runs), or, given ``loss_noise``, keeps
the runs and adds Gaussian noise of that standard deviation to every final loss (the seed-to-seed
variation of training, as Porian et al. do), then refits everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AtlasError
from analysis.fit.bootstrap import (
    DEFAULT_CHUNK_SIZE,
    ProgressCallback,
    chunk_size_for,
    chunked_counts,
    chunked_noise,
    percentile_interval,
)
from analysis.fit.laws import FLOP_PER_PARAMETER_TOKEN, weighted_least_squares
from analysis.fit.runs import TrainingRuns
from analysis.fit.serialise import json_ready

BUDGET_COLUMNS = ["C", "n_runs", "N_opt", "D_opt", "loss_opt", "included", "reason"]

ISOFLOP_METHODS = ("parabola", "interpolation")
"""How :class:`IsoFLOPFit` reads ``N_opt`` off a budget's profile (see the module docstring)."""

GRID_POINTS_PER_INTERVAL = 25
"""The interpolated profile is searched on this many points per interval between adjacent sampled sizes,
evenly spaced in ``log N`` (as Porian et al. do); the minimum is the lowest grid point."""

SPREAD_FLOOR = 1 / 3
"""A budget's bootstrap spread of ``log10 N_opt`` is taken as at least this fraction of the mean spacing of its
sampled sizes in ``log10 N``, so that a budget whose minimum never moves between grid points does not get an
unbounded weight (Porian et al. use 0.33)."""

SAME_SIZE_DEX = 1e-3
"""For the interpolation method, model sizes closer than this in ``log10 N`` (0.23%) are one size, of which the
lowest-loss run is kept: a spline through two points that close would be meaningless."""


DETECTION_MIN_RUNS = 3
"""Runs that must share a compute for :func:`detect_budgets` to call them a budget (unless the estimator asks for
fewer): two runs at one compute can be a coincidence of a grid of sizes and tokens, three rarely are."""

DETECTION_CONTRAST = 2.0
"""How many times as many runs as each flanking window a window needs to be a budget in :func:`detect_budgets`."""

FLAT_PROFILE_RTOL = 1e-9
"""A budget whose losses differ by less than this fraction has no profile to read an optimum off."""


FLAT_REASON = "the loss does not change with model size"


def flat_profile(loss: np.ndarray) -> bool:
    """Whether a budget's losses (nats/token) are all the same, to :data:`FLAT_PROFILE_RTOL`."""
    return bool(np.ptp(loss) <= FLAT_PROFILE_RTOL * np.max(loss))


class BudgetError(AtlasError):
    """Fewer than two usable FLOP budgets; ``budgets`` holds the per-budget table (``BUDGET_COLUMNS``) with each
    budget's reason, for reports that show every budget."""

    def __init__(self, message: str, budgets: pd.DataFrame) -> None:
        super().__init__(message)
        self.budgets = budgets


def detect_budgets(
    C: np.ndarray, tolerance_dex: float = 0.03, min_runs: int = DETECTION_MIN_RUNS,
    contrast: float = DETECTION_CONTRAST,
) -> tuple[np.ndarray, np.ndarray]:
    """Find FLOP-budget clusters in training compute ``C`` (FLOP).

    Repeatedly takes the densest window of half-width ``tolerance_dex`` in ``log10 C`` among
    runs not yet considered and centres it on the median of its runs. The window is a budget
    when it holds at least ``min_runs`` runs and at least ``contrast`` times as many as each
    flanking window (the next ``2 * tolerance_dex`` on either side): an IsoFLOP budget is a
    spike in the compute distribution, not part of a continuous spread of runs (the Epoch
    data mix IsoFLOP runs with runs at many other budgets). Runs outside budgets stay
    unassigned.

    Returns:
        ``(budgets, labels)``: budgets in FLOP (median ``C`` of each cluster), ascending, shape ``(k,)``, and for each
        run the index of its budget or ``-1``, shape ``(n,)``.

    Raises:
        ValueError: a compute that is not a finite positive number.
    """
    flop = np.asarray(C, dtype=float)
    if not np.all(np.isfinite(flop) & (flop > 0)):
        raise ValueError("detect_budgets needs finite positive compute values (FLOP)")
    log_c = np.log10(flop)
    all_sorted = np.sort(log_c)
    labels = np.full(log_c.size, -1)
    considered = np.zeros(log_c.size, dtype=bool)
    centres: list[float] = []

    def count(lo: float, hi: float) -> int:
        return int(np.searchsorted(all_sorted, hi, side="right") - np.searchsorted(all_sorted, lo, side="left"))

    while True:
        free = np.flatnonzero(~considered)
        if free.size < min_runs:
            break
        values = np.sort(log_c[free])
        counts = np.searchsorted(values, values + tolerance_dex, side="right") - np.searchsorted(
            values, values - tolerance_dex, side="left"
        )
        if counts.max() < min_runs:
            break
        seed_value = values[int(np.argmax(counts))]
        window = free[np.abs(log_c[free] - seed_value) <= tolerance_dex]
        centre = float(np.median(log_c[window]))
        members = free[np.abs(log_c[free] - centre) <= tolerance_dex]
        if members.size < min_runs:
            members = window  # holds the seed run itself, so every pass considers at least one more run
        considered[members] = True
        flank = max(
            count(centre - 3 * tolerance_dex, centre - tolerance_dex * (1 + 1e-9)),
            count(centre + tolerance_dex * (1 + 1e-9), centre + 3 * tolerance_dex),
        )
        if members.size >= contrast * flank:
            labels[members] = len(centres)
            centres.append(centre)
    order = np.argsort(centres)
    relabel = np.full(len(centres) + 1, -1)
    relabel[order] = np.arange(len(centres))
    labels = np.where(labels >= 0, relabel[labels], -1)
    budgets = np.array([np.median(flop[labels == k]) for k in range(len(centres))])
    return budgets, labels


def assign_to_budgets(C: np.ndarray, budgets: Any, tolerance_dex: float) -> np.ndarray:
    """Label each run with the index of the nearest given budget within ``tolerance_dex`` (else -1)."""
    log_b = np.log10(np.asarray(budgets, dtype=float))
    distance = np.abs(np.log10(np.asarray(C, float))[:, None] - log_b[None, :])
    nearest = np.argmin(distance, axis=1)
    return np.where(distance[np.arange(nearest.size), nearest] <= tolerance_dex, nearest, -1)


def _budget_labels(
    runs: TrainingRuns, budgets: Any | None, tolerance_dex: float, min_runs: int
) -> tuple[np.ndarray, np.ndarray]:
    if budgets is None:
        centres, labels = detect_budgets(runs.C, tolerance_dex, min_runs=min(min_runs, DETECTION_MIN_RUNS))
    else:
        centres = np.sort(np.asarray(budgets, dtype=float).ravel())
        if centres.size == 0 or np.any(~np.isfinite(centres) | (centres <= 0)):
            raise AtlasError("FLOP budgets must be finite positive numbers")
        labels = assign_to_budgets(runs.C, centres, tolerance_dex)
    if centres.size < 2:
        found = "no FLOP budget" if centres.size == 0 else f"a single FLOP budget (C ≈ {centres[0]:.3g})"
        raise AtlasError(f"IsoFLOP and envelope fits need runs at two or more FLOP budgets; found {found}")
    return centres, labels



@dataclass(frozen=True)
class _PowerLaw:
    """``y = 10**intercept * C**slope`` fitted to per-budget optima, batched over rows."""

    intercept: np.ndarray
    slope: np.ndarray


def _fit_power_laws(log_c: np.ndarray, log_y: np.ndarray, weights: np.ndarray | None = None) -> _PowerLaw:
    """Weighted least-squares lines ``log_y = intercept + slope log_c`` per row of ``log_y`` ``(S, k)``.

    ``weights`` ``(k,)`` weight each budget (default: equally); NaN entries of ``log_y`` are left out, and a
    row with fewer than two distinct budgets left is NaN.
    """
    use = np.isfinite(log_y)
    budget_weights = np.ones(log_c.size) if weights is None else np.nan_to_num(weights)
    coef = weighted_least_squares(np.stack([np.ones_like(log_c), log_c], axis=1), log_y, use * budget_weights)
    return _PowerLaw(intercept=coef[:, 0], slope=coef[:, 1])


@dataclass(frozen=True)
class ComputeOptimalResult:
    """Per-budget compute-optimal points and the power laws through them.

    ``N_opt(C) = k_N C**a`` (parameters) and ``D_opt(C) = k_D C**b`` (tokens), ``C`` in FLOP.

    Attributes:
        method: ``"isoflop"`` or ``"envelope"``.
        budgets: one row per budget/bin: ``C`` (FLOP), ``n_runs``, ``N_opt``, ``D_opt``, ``loss_opt``,
            ``included`` (used in the power-law fit), ``reason`` (why not), and with bootstrap
            ``N_opt_lo``/``N_opt_hi`` percentile bounds; interpolation with bootstrap adds ``weight``
            (the budget's share of the power-law fit's weights, summing to 1 over included budgets).
        exponents: ``{"a", "b"}``; coefficients: ``{"k_N", "k_D"}``.
        ci: percentile intervals of ``a``, ``b``, ``k_N``, ``k_D`` (empty without bootstrap).
        n_points: runs given; n_bootstrap, n_bootstrap_failed, seed, level: bootstrap settings/outcome.
        samples: bootstrap ``(log10 k_N, a, log10 k_D, b)`` rows, shape ``(S, 4)``.
        profile_method: isoflop only: ``"parabola"`` or ``"interpolation"``.
        loss_noise: standard deviation (nats/token) of the noise the bootstrap added to each loss, or ``None``
            when it resampled runs.
        parabolas: ``"parabola"`` only: ``(k, 4)`` rows ``(c0, c1, c2, x0)`` with
            ``loss = c0 + c1 (x - x0) + c2 (x - x0)**2`` and ``x = log10 N``.
        knots: ``"interpolation"`` only: per budget, a ``(2, m)`` array of the interpolated points,
            ``log10 N`` (ascending) and loss (nats/token); ``(2, 0)`` when the budget had too few sizes.
    """

    method: str
    budgets: pd.DataFrame
    exponents: dict[str, float]
    coefficients: dict[str, float]
    ci: dict[str, tuple[float, float]]
    n_points: int
    level: float
    samples: np.ndarray = field(repr=False)
    n_bootstrap: int = 0
    n_bootstrap_failed: int = 0
    seed: int | None = None
    parabolas: np.ndarray | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()
    profile_method: str | None = None
    loss_noise: float | None = None
    knots: tuple[np.ndarray, ...] | None = field(default=None, repr=False)

    @property
    def params(self) -> dict[str, float]:
        """``k_N, a, k_D, b``."""
        return {"k_N": self.coefficients["k_N"], "a": self.exponents["a"],
                "k_D": self.coefficients["k_D"], "b": self.exponents["b"]}

    @property
    def converged(self) -> bool:
        """Always true: every step is a closed-form solve or a grid search."""
        return True

    def n_opt(self, C: Any) -> np.ndarray:
        """Compute-optimal parameters at ``C`` FLOP from the fitted power law."""
        return self.coefficients["k_N"] * np.asarray(C, float) ** self.exponents["a"]

    def d_opt(self, C: Any) -> np.ndarray:
        """Compute-optimal tokens at ``C`` FLOP from the fitted power law."""
        return self.coefficients["k_D"] * np.asarray(C, float) ** self.exponents["b"]

    def _band(self, C: Any, column: int, level: float | None) -> tuple[np.ndarray, np.ndarray]:
        if self.samples.shape[0] == 0:
            raise ValueError("no bootstrap samples: fit with n_bootstrap > 0 to get intervals")
        C = np.asarray(C, float)
        log_c = np.log10(C).reshape(1, -1)
        lines = self.samples[:, column : column + 1] + self.samples[:, column + 1 : column + 2] * log_c
        lo, hi = percentile_interval(lines, level or self.level)
        return (10.0**lo).reshape(C.shape), (10.0**hi).reshape(C.shape)

    def n_opt_interval(self, C: Any, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap percentile band ``(lo, hi)`` of ``N_opt(C)``, shaped like ``C``."""
        return self._band(C, 0, level)

    def d_opt_interval(self, C: Any, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap percentile band ``(lo, hi)`` of ``D_opt(C)``, shaped like ``C``."""
        return self._band(C, 2, level)

    def profile(self, C: Any, N: Any) -> np.ndarray:
        """Fitted IsoFLOP profile (loss, nats/token) of the budget nearest ``C`` at model size ``N``.

        The budget's parabola, or its interpolation (NaN outside the sizes the budget sampled).
        ``C`` and ``N`` broadcast; use it to draw the fitted curves. Isoflop results only.
        """
        if self.parabolas is None and self.knots is None:
            raise ValueError(f"a {self.method} result has no IsoFLOP profiles")
        C, N = np.broadcast_arrays(np.asarray(C, float), np.asarray(N, float))
        budget_log = np.log10(self.budgets["C"].to_numpy(float))
        nearest = np.argmin(np.abs(np.log10(C)[..., None] - budget_log), axis=-1)
        x = np.log10(N)
        if self.parabolas is not None:
            c0, c1, c2, x0 = (self.parabolas[nearest, i] for i in range(4))
            return c0 + c1 * (x - x0) + c2 * (x - x0) ** 2
        assert self.knots is not None  # one of the two profiles is set (checked above)
        out = np.full(x.shape, np.nan)
        for k in np.unique(nearest):
            sizes, loss = self.knots[k]
            if sizes.size:
                at = nearest == k
                out[at] = np.exp(_akima(sizes, np.log(loss))(x[at]))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: params, exponents, ci, per-budget optima, n_points, converged.

        Numbers that are not finite (e.g. an unbounded interval, a budget left out) are ``None``.
        """
        return json_ready({
            "estimator": self.method,
            "profile_method": self.profile_method,
            "params": self.params,
            "exponents": self.exponents,
            "ci": self.ci,
            "level": self.level,
            "budgets": self.budgets.to_dict(orient="records"),
            "n_points": self.n_points,
            "n_budgets_used": int(self.budgets["included"].sum()),
            "converged": self.converged,
            "n_bootstrap": self.n_bootstrap,
            "n_bootstrap_failed": self.n_bootstrap_failed,
            "loss_noise": self.loss_noise,
            "seed": self.seed,
            "warnings": self.warnings,
        })

    def summary(self) -> str:
        """A readable text summary: the power laws with intervals and the per-budget table."""
        if self.method == "envelope":
            title = "Lower envelope of final losses (Approach 1 analogue)"
        elif self.profile_method == "interpolation":
            title = "IsoFLOP profiles, minima of interpolated profiles (Porian et al. 2024)"
        else:
            title = "IsoFLOP profiles (Chinchilla Approach 2)"
        lines = [title, "=" * 78, f"Runs: {self.n_points}   budgets used: "
                 f"{int(self.budgets['included'].sum())} of {len(self.budgets)}"]
        if self.n_bootstrap:
            how = "resamples of the runs" if self.loss_noise is None else (
                f"resamples adding Gaussian noise (sd {self.loss_noise:.4g} nats/token) to each loss")
            lines.append(f"Bootstrap: {self.n_bootstrap} {how} (seed {self.seed}), "
                         f"{self.level:.0%} percentile intervals")
        if "weight" in self.budgets.columns:
            lines.append("N_opt per budget: median of the resampled minima; power laws weighted by 1/spread^2")
        lines.append("-" * 78)
        for name, label in (("a", "N_opt ∝ C^a"), ("b", "D_opt ∝ C^b")):
            lo, hi = self.ci.get(name, (np.nan, np.nan))
            band = f"  [{lo:.4f}, {hi:.4f}]" if name in self.ci else ""
            lines.append(f"{label}:  {name} = {self.exponents[name]:.4f}{band}")
        lines.append(f"N_opt = {self.coefficients['k_N']:.4g} * C^{self.exponents['a']:.4f} parameters; "
                     f"D_opt = {self.coefficients['k_D']:.4g} * C^{self.exponents['b']:.4f} tokens")
        lines.append("-" * 78)
        weighted = "weight" in self.budgets.columns
        lines.append(f"{'C (FLOP)':>11}{'runs':>6}{'N_opt':>12}{'D_opt':>12}{'loss_opt':>10}"
                     + (f"{'weight':>8}" if weighted else "") + "  used")
        for row in self.budgets.to_dict(orient="records"):
            used = "yes" if row["included"] else f"no: {row['reason']}"
            weight = f"{_g(row['weight'], '.3f'):>8}" if weighted else ""
            lines.append(f"{row['C']:>11.3g}{row['n_runs']:>6d}{_g(row['N_opt']):>12}{_g(row['D_opt']):>12}"
                         f"{_g(row['loss_opt'], '.4f'):>10}{weight}  {used}")
        for warning in self.warnings:
            lines.append(f"WARNING: {warning}")
        return "\n".join(lines)


def _g(value: Any, spec: str = ".4g") -> str:
    return "-" if value is None or not np.isfinite(value) else format(value, spec)


def _parabolas(x: np.ndarray, loss: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least-squares parabolas ``loss = c0 + c1 x + c2 x^2`` per row of ``weights`` ``(S, n)``.

    ``loss`` is ``(n,)`` (the same losses in every row) or ``(S, n)``. Returns ``(S, 3)`` coefficients
    (NaN where a row's runs have fewer than three distinct ``x``).
    """
    return weighted_least_squares(np.stack([np.ones_like(x), x, x * x], axis=1), loss, weights)


def require_usable_budgets(method: str, table: pd.DataFrame) -> None:
    """Raise unless at least two budgets of the per-budget ``table`` are usable (checked before any bootstrap).

    Raises:
        BudgetError: one line listing why each budget was left out; the per-budget table is
            attached as the error's ``budgets`` attribute (for reports that show each budget).
    """
    if int(table["included"].sum()) < 2:
        excluded = table[~table["included"].to_numpy(bool)]
        reasons = "; ".join(f"C={c:.3g}: {reason}" for c, reason in zip(excluded["C"], excluded["reason"], strict=True))
        raise BudgetError(f"{method}: fewer than two usable FLOP budgets ({reasons})", table.reset_index(drop=True))


def summarise_optima(
    method: str,
    runs: TrainingRuns,
    table: pd.DataFrame,
    samples_log_n: np.ndarray,
    n_bootstrap: int,
    seed: int | None,
    level: float,
    parabolas: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> ComputeOptimalResult:
    """Fit the power laws through the included per-budget optima and attach bootstrap intervals.

    Args:
        table: per-budget rows (``BUDGET_COLUMNS``).
        samples_log_n: ``(S, k)`` bootstrap ``log10 N_opt`` per budget (NaN = unusable), S may be 0.
        weights: ``(k,)`` weight of each budget in every power-law fit (default: equal).
    """
    require_usable_budgets(method, table)
    included = table["included"].to_numpy(bool)
    log_c = np.log10(table["C"].to_numpy(float))
    log_n = np.log10(table["N_opt"].to_numpy(float))
    log_d = np.log10(table["D_opt"].to_numpy(float))
    mask = np.where(included, 0.0, np.nan)
    n_law = _fit_power_laws(log_c, (log_n + mask)[None], weights)
    d_law = _fit_power_laws(log_c, (log_d + mask)[None], weights)
    exponents = {"a": float(n_law.slope[0]), "b": float(d_law.slope[0])}
    coefficients = {"k_N": float(10 ** n_law.intercept[0]), "k_D": float(10 ** d_law.intercept[0])}
    ci: dict[str, tuple[float, float]] = {}
    samples = np.empty((0, 4))
    failed = 0
    messages: list[str] = []
    if samples_log_n.shape[0]:
        boot_n = samples_log_n + mask
        # D_opt = C / (6 N_opt) per budget, so its bootstrap follows from N_opt's.
        boot_d = np.log10(table["C"].to_numpy(float) / FLOP_PER_PARAMETER_TOKEN) - boot_n
        n_boot, d_boot = _fit_power_laws(log_c, boot_n, weights), _fit_power_laws(log_c, boot_d, weights)
        samples = np.stack([n_boot.intercept, n_boot.slope, d_boot.intercept, d_boot.slope], axis=1)
        good = np.all(np.isfinite(samples), axis=1)
        failed = int((~good).sum())
        samples = samples[good]
        if failed:
            messages.append(f"{failed} of {n_bootstrap} bootstrap resamples had fewer than two usable budgets")
        if samples.shape[0]:
            for name, values in (("a", samples[:, 1]), ("b", samples[:, 3]),
                                 ("k_N", 10 ** samples[:, 0]), ("k_D", 10 ** samples[:, 2])):
                lo, hi = percentile_interval(values, level)
                ci[name] = (float(lo), float(hi))
            lo = np.full(included.size, np.nan)
            hi = np.full(included.size, np.nan)
            lo[included], hi[included] = percentile_interval(samples_log_n[:, included], level)
            table = table.assign(N_opt_lo=10**lo, N_opt_hi=10**hi)
    return ComputeOptimalResult(
        method=method, budgets=table.reset_index(drop=True), exponents=exponents,
        coefficients=coefficients, ci=ci, n_points=len(runs), level=level, samples=samples,
        n_bootstrap=n_bootstrap, n_bootstrap_failed=failed, seed=seed, parabolas=parabolas,
        warnings=tuple(messages),
    )


@dataclass(frozen=True)
class IsoFLOPFit:
    """IsoFLOP-profile estimator (Chinchilla Approach 2).

    Args:
        budgets: FLOP budgets to group runs by; ``None`` detects clusters in ``log10 C``.
        tolerance_dex: a run belongs to a budget when ``|log10 C - log10 budget| <= tolerance_dex``.
        min_runs: budgets with fewer runs are reported and left out (a parabola has 3 coefficients).
        exclude_top_loss: drop this many highest-loss runs first.
        method: ``"parabola"`` (Hoffmann et al. 2022: the vertex of one parabola in ``log10 N`` through all
            of a budget's runs) or ``"interpolation"`` (Porian et al. 2024: the lowest point of an Akima spline
            through the best run at each size; with a bootstrap, each budget's ``N_opt`` is the median of its
            resampled minima and the power laws weight budgets by the inverse variance of those minima, so
            the exponent depends on the bootstrap). See the module docstring.
        loss_noise: ``None``: the bootstrap resamples runs within each budget. A standard deviation in
            nats/token: the bootstrap keeps every run and adds Gaussian noise of this size to each final
            loss (the seed-to-seed variation of training). The interpolation method needs it to bootstrap,
            since dropping runs would remove points of its spline.
        n_bootstrap: bootstrap resamples (0 = none); seed, level: as elsewhere.
        chunk_size: resamples processed together; progress: optional ``progress(done, total)``.
    """

    budgets: tuple[float, ...] | None = None
    tolerance_dex: float = 0.03
    min_runs: int = 4
    exclude_top_loss: int = 0
    n_bootstrap: int = 0
    seed: int | None = 0
    level: float = 0.95
    chunk_size: int = DEFAULT_CHUNK_SIZE
    progress: ProgressCallback | None = None
    method: str = "parabola"
    loss_noise: float | None = None

    def fit(self, runs: TrainingRuns) -> ComputeOptimalResult:
        """Find each budget's optimum and fit the power laws through them.

        Raises:
            AtlasError: invalid options, fewer than two FLOP budgets, or fewer than two usable ones.
        """
        self._check_options()
        runs = runs.exclude_top_loss(self.exclude_top_loss)
        centres, labels = _budget_labels(runs, self.budgets, self.tolerance_dex, self.min_runs)
        members_by_budget = [np.flatnonzero(labels == k) for k in range(centres.size)]
        if self.method == "parabola":
            result = self._fit_parabolas(runs, centres, members_by_budget)
        else:
            result = self._fit_interpolated(runs, centres, members_by_budget)
        return replace(result, profile_method=self.method,
                       loss_noise=self.loss_noise if self.n_bootstrap else None)

    def _check_options(self) -> None:
        if self.n_bootstrap < 0:
            raise AtlasError(f"the number of bootstrap resamples must be >= 0, got {self.n_bootstrap}")
        if self.method not in ISOFLOP_METHODS:
            raise AtlasError(f"unknown IsoFLOP method {self.method!r}; expected one of: {', '.join(ISOFLOP_METHODS)}")
        if self.loss_noise is not None and not (np.isfinite(self.loss_noise) and self.loss_noise > 0):
            raise AtlasError(f"loss_noise must be a positive standard deviation in nats/token, got {self.loss_noise}")
        if self.method == "interpolation" and self.n_bootstrap and self.loss_noise is None:
            raise AtlasError("the interpolation method bootstraps by adding noise to each run's loss: give "
                             "loss_noise (--loss-noise on the command line), the seed-to-seed standard deviation "
                             "of the final loss in nats/token")

    def _fit_parabolas(
        self, runs: TrainingRuns, centres: np.ndarray, members_by_budget: list[np.ndarray]
    ) -> ComputeOptimalResult:
        rows, parabolas = [], []
        for centre, members in zip(centres, members_by_budget, strict=True):
            x = np.log10(runs.N[members])
            x0 = float(x.mean()) if members.size else 0.0
            row = _empty_row(centre, members.size)
            coef = np.full(3, np.nan)
            if members.size < self.min_runs:
                row["reason"] = f"only {members.size} runs (need {self.min_runs})"
            elif np.unique(x).size < 3:
                row["reason"] = "fewer than 3 distinct model sizes"
            elif flat_profile(runs.loss[members]):
                row["reason"] = FLAT_REASON
            else:
                coef = _parabolas(x - x0, runs.loss[members], np.ones((1, members.size)))[0]
                x_min, reason = _vertex(coef, x.min() - x0, x.max() - x0)
                if reason:
                    row["reason"] = reason
                else:
                    row |= _optimum(centre, x_min + x0, coef[0] + coef[1] * x_min + coef[2] * x_min**2)
            parabolas.append([*coef, x0])
            rows.append(row)
        table = pd.DataFrame(rows, columns=BUDGET_COLUMNS)
        require_usable_budgets("isoflop", table)
        samples_log_n = self._bootstrap_parabolas(runs, members_by_budget, table["included"].to_numpy(bool))
        return summarise_optima("isoflop", runs, table, samples_log_n, self.n_bootstrap, self.seed,
                                self.level, parabolas=np.asarray(parabolas, float))

    def _resamples(
        self, members: np.ndarray, groups: np.ndarray, loss: np.ndarray
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(weights, losses)`` chunks, both ``(chunk, n)`` for the runs ``members`` (budget labels
        ``groups``, losses ``loss``): run counts and the losses as measured, or unit weights and noisy losses."""
        if self.loss_noise is None:
            for counts in chunked_counts(self.seed, members.size, self.n_bootstrap,
                                         chunk_size_for(members.size, self.chunk_size), groups):
                yield counts, np.broadcast_to(loss, counts.shape)
        else:
            for noise in chunked_noise(self.seed, members.size, self.n_bootstrap, chunk_size_for(members.size, self.chunk_size)):
                yield np.ones_like(noise), loss + self.loss_noise * noise

    def _bootstrap_parabolas(
        self, runs: TrainingRuns, members_by_budget: list[np.ndarray], included: np.ndarray
    ) -> np.ndarray:
        if not self.n_bootstrap:
            return np.empty((0, len(members_by_budget)))
        used = np.flatnonzero(included)
        members = np.concatenate([members_by_budget[k] for k in used])
        groups = np.concatenate([np.full(members_by_budget[k].size, k) for k in used])
        out = np.full((self.n_bootstrap, len(members_by_budget)), np.nan)
        start = 0
        for weights, losses in self._resamples(members, groups, runs.loss[members]):
            for k in used:
                in_budget = groups == k
                x = np.log10(runs.N[members[in_budget]])
                x0 = x.mean()
                coef = _parabolas(x - x0, losses[:, in_budget], weights[:, in_budget])
                vertex, _ = _vertex_batch(coef, weights[:, in_budget] > 0, x - x0)
                out[start : start + weights.shape[0], k] = vertex + x0
            start += weights.shape[0]
            if self.progress is not None:
                self.progress(start, self.n_bootstrap)
        return out

    def _fit_interpolated(
        self, runs: TrainingRuns, centres: np.ndarray, members_by_budget: list[np.ndarray]
    ) -> ComputeOptimalResult:
        rows, knots, best_by_budget = [], [], []
        for centre, members in zip(centres, members_by_budget, strict=True):
            best = _best_run_per_size(runs, members)
            sizes = np.log10(runs.N[best])
            row = _empty_row(centre, members.size)
            if members.size < self.min_runs:
                row["reason"] = f"only {members.size} runs (need {self.min_runs})"
            elif best.size < 3:
                row["reason"] = "fewer than 3 distinct model sizes"
            elif flat_profile(runs.loss[members]):
                row["reason"] = FLAT_REASON
            else:
                x_min, log_loss_min = _interpolated_minima(sizes, np.log(runs.loss[best])[None])
                if np.isfinite(x_min[0]):
                    row |= _optimum(centre, x_min[0], np.exp(log_loss_min[0]))
                else:
                    row["reason"] = "the interpolated minimum lies at the edge of the sampled model sizes"
            knots.append(np.stack([sizes, runs.loss[best]]) if best.size >= 3 else np.empty((2, 0)))
            best_by_budget.append(best)
            rows.append(row)
        table = pd.DataFrame(rows, columns=BUDGET_COLUMNS)
        require_usable_budgets("isoflop", table)
        weights = None
        samples_log_n = np.empty((0, centres.size))
        if self.n_bootstrap:
            samples_log_n = self._bootstrap_interpolated(runs, best_by_budget, table["included"].to_numpy(bool))
            table, weights = _bootstrap_medians(table, samples_log_n, knots)
        result = summarise_optima("isoflop", runs, table, samples_log_n, self.n_bootstrap, self.seed,
                                  self.level, weights=weights)
        return replace(result, knots=tuple(knots))

    def _bootstrap_interpolated(
        self, runs: TrainingRuns, best_by_budget: list[np.ndarray], included: np.ndarray
    ) -> np.ndarray:
        """``(S, k)`` resampled ``log10 N_opt`` (NaN: minimum at an edge, or a perturbed loss not positive)."""
        used = np.flatnonzero(included)
        members = np.concatenate([best_by_budget[k] for k in used])
        groups = np.concatenate([np.full(best_by_budget[k].size, k) for k in used])
        out = np.full((self.n_bootstrap, len(best_by_budget)), np.nan)
        start = 0
        for _, losses in self._resamples(members, groups, runs.loss[members]):
            for k in used:
                in_budget = groups == k
                noisy = losses[:, in_budget]
                positive = np.all(noisy > 0, axis=1)
                x_min, _ = _interpolated_minima(np.log10(runs.N[members[in_budget]]),
                                                np.log(np.where(positive[:, None], noisy, 1.0)))
                out[start : start + noisy.shape[0], k] = np.where(positive, x_min, np.nan)
            start += losses.shape[0]
            if self.progress is not None:
                self.progress(start, self.n_bootstrap)
        return out


def _empty_row(centre: float, n_runs: int) -> dict[str, Any]:
    return {"C": centre, "n_runs": int(n_runs), "N_opt": np.nan, "D_opt": np.nan,
            "loss_opt": np.nan, "included": False, "reason": ""}


def _optimum(centre: float, log10_n: float, loss: float) -> dict[str, Any]:
    """The budget-table fields of an optimum at ``log10 N = log10_n`` with loss ``loss`` (nats/token)."""
    n_opt = 10**log10_n
    return {"N_opt": n_opt, "D_opt": centre / (FLOP_PER_PARAMETER_TOKEN * n_opt), "loss_opt": loss,
            "included": True, "reason": ""}


def _best_run_per_size(runs: TrainingRuns, members: np.ndarray) -> np.ndarray:
    """The lowest-loss run of each distinct model size among ``members``, ordered by size.

    Sizes closer than :data:`SAME_SIZE_DEX` (runs read off a figure carry such jitter) count as one size.
    """
    order = members[np.argsort(runs.N[members], kind="stable")]
    x = np.log10(runs.N[order])
    new_size = np.ones(order.size, dtype=bool)
    new_size[1:] = np.diff(x) >= SAME_SIZE_DEX
    size_group = np.cumsum(new_size)
    ranked = np.lexsort((runs.loss[order], size_group))  # by size group, then by loss
    first = np.ones(ranked.size, dtype=bool)
    first[1:] = size_group[ranked[1:]] != size_group[ranked[:-1]]
    return order[ranked[first]]


def _akima(sizes: np.ndarray, values: np.ndarray) -> Any:
    """scipy's Akima spline through ``(sizes, values)`` along the first axis of ``values``.

    ``scipy.interpolate`` is imported here, not with the module: only the interpolation method needs it,
    and its import (about 0.3 s) would otherwise be paid by everything that imports the fits, every
    chapter's kernel included.
    """
    from scipy.interpolate import Akima1DInterpolator

    return Akima1DInterpolator(sizes, values, axis=0)


def _interpolated_minima(sizes: np.ndarray, log_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest points of Akima splines through ``(sizes, log_loss)``, searched on a grid.

    Args:
        sizes: ``(m,)`` ascending ``log10 N``, ``m >= 3``.
        log_loss: ``(S, m)`` natural log of the loss, one profile per row.

    Returns:
        ``(S,)`` ``log10 N`` of each profile's lowest grid point (NaN when it is an end point of the grid, i.e.
        the minimum is not bracketed by the sampled sizes) and ``(S,)`` the spline's ``ln loss`` there.
    """
    grid = np.linspace(sizes[0], sizes[-1], GRID_POINTS_PER_INTERVAL * (sizes.size - 1))
    values = _akima(sizes, log_loss.T)(grid)  # (G, S)
    lowest = np.argmin(values, axis=0)
    inside = (lowest > 0) & (lowest < grid.size - 1)
    return np.where(inside, grid[lowest], np.nan), values[lowest, np.arange(lowest.size)]


def _bootstrap_medians(
    table: pd.DataFrame, samples_log_n: np.ndarray, knots: list[np.ndarray]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Porian et al.'s per-budget estimate from the resampled minima ``samples_log_n`` ``(S, k)``.

    ``N_opt`` becomes the median of a budget's resampled minima and its weight ``1 / sd**2``, with ``sd`` the
    standard deviation of its resampled ``log10 N_opt`` (at least :data:`SPREAD_FLOOR` of the mean spacing of
    its sampled sizes) times ``S`` over the number of resamples that found a minimum. A budget whose minimum
    lies at an edge in more than half of the resamples is left out. Returns the table with a ``weight`` column
    (shares of the total weight) and the weights ``(k,)`` (NaN for budgets left out).
    """
    rows: list[dict[str, Any]] = [{str(key): value for key, value in row.items()} for row in table.to_dict(orient="records")]
    n_resamples = samples_log_n.shape[0]
    weights = np.full(len(rows), np.nan)
    for k, row in enumerate(rows):
        if not row["included"]:
            continue
        found = samples_log_n[:, k][np.isfinite(samples_log_n[:, k])]
        if found.size < n_resamples / 2:
            row |= {"N_opt": np.nan, "D_opt": np.nan, "loss_opt": np.nan, "included": False,
                    "reason": "the interpolated minimum lies at the edge of the sampled model sizes in more "
                              "than half of the bootstrap resamples"}
            continue
        sizes, loss = knots[k]
        floor = SPREAD_FLOOR * (sizes[-1] - sizes[0]) / (sizes.size - 1)
        spread = max(float(np.std(found)), floor) * n_resamples / found.size
        weights[k] = spread**-2.0
        median = float(np.median(found))
        row |= _optimum(row["C"], median, float(np.exp(_akima(sizes, np.log(loss))(median))))
    table = pd.DataFrame(rows, columns=table.columns)
    table["weight"] = weights / np.nansum(weights)
    return table, weights


def _vertex(coef: np.ndarray, lo: float, hi: float) -> tuple[float, str]:
    if not np.all(np.isfinite(coef)):
        return np.nan, "parabola fit is singular"
    if coef[2] <= 0:
        return np.nan, "loss is not convex in log N (parabola opens downwards)"
    vertex = -coef[1] / (2 * coef[2])
    if not lo <= vertex <= hi:
        return np.nan, "minimum lies outside the sampled model sizes"
    return float(vertex), ""


def _vertex_batch(coef: np.ndarray, drawn: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices ``(S,)`` of batched parabolas, NaN unless convex and inside the drawn runs' range."""
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = -coef[:, 1] / (2 * coef[:, 2])
    lo = np.min(np.where(drawn, x, np.inf), axis=1)
    hi = np.max(np.where(drawn, x, -np.inf), axis=1)
    ok = np.isfinite(vertex) & (coef[:, 2] > 0) & (vertex >= lo) & (vertex <= hi)
    return np.where(ok, vertex, np.nan), ok
