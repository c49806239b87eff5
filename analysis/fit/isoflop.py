"""IsoFLOP profiles (Chinchilla Approach 2) and the result shared with the envelope fit.

Runs are grouped by FLOP budget. Within a budget, loss is fitted by a parabola in
``log10 N``; its minimum gives the compute-optimal size ``N_opt(C)`` and tokens
``D_opt(C) = C / (6 N_opt)``. Across budgets, ``N_opt = k_N C**a`` and ``D_opt = k_D C**b`` are
fitted by least squares in log-log space. A budget is reported but left out when it has too
few runs, its parabola opens downwards, or the minimum lies outside the sizes it sampled.

The bootstrap resamples runs *within* each budget (a stratified bootstrap keeps the design:
every resample has the same budgets with the same numbers of runs) and refits everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AtlasError
from analysis.fit.bootstrap import (
    DEFAULT_CHUNK_SIZE,
    ProgressCallback,
    chunked_counts,
    percentile_interval,
)
from analysis.fit.runs import FLOP_PER_PARAMETER_TOKEN, TrainingRuns
from analysis.fit.serialise import json_ready

BUDGET_COLUMNS = ["C", "n_runs", "N_opt", "D_opt", "loss_opt", "included", "reason"]


def detect_budgets(
    C: np.ndarray, tolerance_dex: float = 0.03, min_runs: int = 3, contrast: float = 2.0
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
    """
    log_c = np.log10(np.asarray(C, dtype=float))
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
            members = window
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
    flop = np.asarray(C, dtype=float)
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
        centres, labels = detect_budgets(runs.C, tolerance_dex, min_runs=min(min_runs, 3))
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


def _fit_power_laws(log_c: np.ndarray, log_y: np.ndarray) -> _PowerLaw:
    """Least-squares lines ``log_y = intercept + slope log_c`` per row of ``log_y`` ``(S, k)`` (NaN = skip)."""
    use = np.isfinite(log_y)
    weights = use.astype(float)
    y = np.where(use, log_y, 0.0)
    total = weights.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_c = weights @ log_c / total
        mean_y = np.sum(weights * y, axis=1) / total
        cov = np.sum(weights * y * log_c, axis=1) / total - mean_c * mean_y
        var = weights @ (log_c**2) / total - mean_c**2
        ok = (total >= 2) & (var > 1e-12)
        slope = np.where(ok, cov / var, np.nan)
    return _PowerLaw(intercept=mean_y - slope * mean_c, slope=slope)


@dataclass(frozen=True)
class ComputeOptimalResult:
    """Per-budget compute-optimal points and the power laws through them.

    ``N_opt(C) = k_N C**a`` (parameters) and ``D_opt(C) = k_D C**b`` (tokens), ``C`` in FLOP.

    Attributes:
        method: ``"isoflop"`` or ``"envelope"``.
        budgets: one row per budget/bin: ``C`` (FLOP), ``n_runs``, ``N_opt``, ``D_opt``, ``loss_opt``,
            ``included`` (used in the power-law fit), ``reason`` (why not), and with bootstrap
            ``N_opt_lo``/``N_opt_hi`` percentile bounds.
        exponents: ``{"a", "b"}``; coefficients: ``{"k_N", "k_D"}``.
        ci: percentile intervals of ``a``, ``b``, ``k_N``, ``k_D`` (empty without bootstrap).
        n_points: runs given; n_bootstrap, n_bootstrap_failed, seed, level: bootstrap settings/outcome.
        samples: bootstrap ``(log10 k_N, a, log10 k_D, b)`` rows, shape ``(S, 4)``.
        parabolas: isoflop only: ``(k, 4)`` rows ``(c0, c1, c2, x0)`` with
            ``loss = c0 + c1 (x - x0) + c2 (x - x0)**2`` and ``x = log10 N``.
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

    @property
    def params(self) -> dict[str, float]:
        """``k_N, a, k_D, b``."""
        return {"k_N": self.coefficients["k_N"], "a": self.exponents["a"],
                "k_D": self.coefficients["k_D"], "b": self.exponents["b"]}

    @property
    def converged(self) -> bool:
        """Always true: every step is a closed-form least-squares solve."""
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
        """Fitted IsoFLOP parabola (loss, nats/token) of the budget nearest ``C`` at model size ``N``.

        ``C`` and ``N`` broadcast; use it to draw the fitted curves. Isoflop results only.
        """
        if self.parabolas is None:
            raise ValueError(f"a {self.method} result has no IsoFLOP parabolas")
        C, N = np.broadcast_arrays(np.asarray(C, float), np.asarray(N, float))
        budget_log = np.log10(self.budgets["C"].to_numpy(float))
        nearest = np.argmin(np.abs(np.log10(C)[..., None] - budget_log), axis=-1)
        c0, c1, c2, x0 = (self.parabolas[nearest, i] for i in range(4))
        x = np.log10(N) - x0
        return c0 + c1 * x + c2 * x * x

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: params, exponents, ci, per-budget optima, n_points, converged.

        Numbers that are not finite (e.g. an unbounded interval, a budget left out) are ``None``.
        """
        return json_ready({
            "estimator": self.method,
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
            "seed": self.seed,
            "warnings": self.warnings,
        })

    def summary(self) -> str:
        """A readable text summary: the power laws with intervals and the per-budget table."""
        title = {
            "isoflop": "IsoFLOP profiles (Chinchilla Approach 2)",
            "envelope": "Lower envelope of final losses (Approach 1 analogue)",
        }[self.method]
        lines = [title, "=" * 78, f"Runs: {self.n_points}   budgets used: "
                 f"{int(self.budgets['included'].sum())} of {len(self.budgets)}"]
        if self.n_bootstrap:
            lines.append(f"Bootstrap: {self.n_bootstrap} resamples (seed {self.seed}), "
                         f"{self.level:.0%} percentile intervals")
        lines.append("-" * 78)
        for name, label in (("a", "N_opt ∝ C^a"), ("b", "D_opt ∝ C^b")):
            lo, hi = self.ci.get(name, (np.nan, np.nan))
            band = f"  [{lo:.4f}, {hi:.4f}]" if name in self.ci else ""
            lines.append(f"{label}:  {name} = {self.exponents[name]:.4f}{band}")
        lines.append(f"N_opt = {self.coefficients['k_N']:.4g} * C^{self.exponents['a']:.4f} parameters; "
                     f"D_opt = {self.coefficients['k_D']:.4g} * C^{self.exponents['b']:.4f} tokens")
        lines.append("-" * 78)
        lines.append(f"{'C (FLOP)':>11}{'runs':>6}{'N_opt':>12}{'D_opt':>12}{'loss_opt':>10}  used")
        for row in self.budgets.itertuples(index=False):
            used = "yes" if row.included else f"no: {row.reason}"
            lines.append(f"{row.C:>11.3g}{row.n_runs:>6d}{_g(row.N_opt):>12}{_g(row.D_opt):>12}"
                         f"{_g(row.loss_opt, '.4f'):>10}  {used}")
        for warning in self.warnings:
            lines.append(f"WARNING: {warning}")
        return "\n".join(lines)


def _g(value: float, spec: str = ".4g") -> str:
    return "-" if value is None or not np.isfinite(value) else format(value, spec)


def _parabolas(x: np.ndarray, loss: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least-squares parabolas ``loss = c0 + c1 x + c2 x^2`` per row of ``weights`` ``(S, n)``.

    Returns ``(S, 3)`` coefficients (NaN when the system is singular).
    """
    powers = np.stack([np.ones_like(x), x, x * x], axis=1)  # (n, 3)
    gram = np.einsum("sn,ni,nj->sij", weights, powers, powers)
    moment = weights @ (powers * loss[:, None])
    singular = np.linalg.cond(gram) > 1e12
    gram[singular] = np.eye(3)
    coef = np.linalg.solve(gram, moment[..., None])[..., 0]
    coef[singular] = np.nan
    return coef


def require_usable_budgets(method: str, table: pd.DataFrame) -> None:
    """Raise unless at least two budgets of the per-budget ``table`` are usable (checked before any bootstrap).

    Raises:
        AtlasError: one line listing why each budget was left out; the per-budget table is
            attached as the error's ``budgets`` attribute (for reports that show each budget).
    """
    if int(table["included"].sum()) < 2:
        reasons = "; ".join(f"C={r.C:.3g}: {r.reason}" for r in table.itertuples() if not r.included)
        error = AtlasError(f"{method}: fewer than two usable FLOP budgets ({reasons})")
        error.budgets = table.reset_index(drop=True)
        raise error


def summarise_optima(
    method: str,
    runs: TrainingRuns,
    table: pd.DataFrame,
    samples_log_n: np.ndarray,
    n_bootstrap: int,
    seed: int | None,
    level: float,
    parabolas: np.ndarray | None = None,
) -> ComputeOptimalResult:
    """Fit the power laws through the included per-budget optima and attach bootstrap intervals.

    Args:
        table: per-budget rows (``BUDGET_COLUMNS``).
        samples_log_n: ``(S, k)`` bootstrap ``log10 N_opt`` per budget (NaN = unusable), S may be 0.
    """
    require_usable_budgets(method, table)
    included = table["included"].to_numpy(bool)
    log_c = np.log10(table["C"].to_numpy(float))
    log_n = np.log10(table["N_opt"].to_numpy(float))
    log_d = np.log10(table["D_opt"].to_numpy(float))
    mask = np.where(included, 0.0, np.nan)
    n_law = _fit_power_laws(log_c, (log_n + mask)[None])
    d_law = _fit_power_laws(log_c, (log_d + mask)[None])
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
        n_boot, d_boot = _fit_power_laws(log_c, boot_n), _fit_power_laws(log_c, boot_d)
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
        n_bootstrap: stratified bootstrap resamples (0 = none); seed, level: as elsewhere.
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

    def fit(self, runs: TrainingRuns) -> ComputeOptimalResult:
        """Fit the per-budget parabolas and the power laws through their minima.

        Raises:
            AtlasError: fewer than two FLOP budgets, or fewer than two usable ones.
        """
        if self.n_bootstrap < 0:
            raise AtlasError(f"the number of bootstrap resamples must be >= 0, got {self.n_bootstrap}")
        runs = runs.exclude_top_loss(self.exclude_top_loss)
        centres, labels = _budget_labels(runs, self.budgets, self.tolerance_dex, self.min_runs)
        rows, parabolas, members_by_budget = [], [], []
        for k, centre in enumerate(centres):
            members = np.flatnonzero(labels == k)
            members_by_budget.append(members)
            x = np.log10(runs.N[members])
            x0 = float(x.mean()) if members.size else 0.0
            row = {"C": centre, "n_runs": int(members.size), "N_opt": np.nan, "D_opt": np.nan,
                   "loss_opt": np.nan, "included": False, "reason": ""}
            coef = np.full(3, np.nan)
            if members.size < self.min_runs:
                row["reason"] = f"only {members.size} runs (need {self.min_runs})"
            elif np.unique(x).size < 3:
                row["reason"] = "fewer than 3 distinct model sizes"
            else:
                coef = _parabolas(x - x0, runs.loss[members], np.ones((1, members.size)))[0]
                x_min, reason = _vertex(coef, x.min() - x0, x.max() - x0)
                if reason:
                    row["reason"] = reason
                else:
                    n_opt = 10 ** (x_min + x0)
                    row |= {"N_opt": n_opt, "D_opt": centre / (FLOP_PER_PARAMETER_TOKEN * n_opt),
                            "loss_opt": coef[0] + coef[1] * x_min + coef[2] * x_min**2, "included": True}
            parabolas.append([*coef, x0])
            rows.append(row)
        table = pd.DataFrame(rows, columns=BUDGET_COLUMNS)
        require_usable_budgets("isoflop", table)
        samples_log_n = self._bootstrap(runs, members_by_budget, table["included"].to_numpy(bool))
        return summarise_optima("isoflop", runs, table, samples_log_n, self.n_bootstrap, self.seed,
                                self.level, parabolas=np.asarray(parabolas, float))

    def _bootstrap(self, runs: TrainingRuns, members_by_budget: list[np.ndarray], included: np.ndarray) -> np.ndarray:
        if not self.n_bootstrap:
            return np.empty((0, len(members_by_budget)))
        used = np.flatnonzero(included)
        members = np.concatenate([members_by_budget[k] for k in used])
        groups = np.concatenate([np.full(members_by_budget[k].size, k) for k in used])
        out = np.full((self.n_bootstrap, len(members_by_budget)), np.nan)
        start = 0
        for counts in chunked_counts(self.seed, members.size, self.n_bootstrap, self.chunk_size, groups):
            for k in used:
                in_budget = groups == k
                x = np.log10(runs.N[members[in_budget]])
                x0 = x.mean()
                coef = _parabolas(x - x0, runs.loss[members[in_budget]], counts[:, in_budget])
                vertex, _ = _vertex_batch(coef, counts[:, in_budget] > 0, x - x0)
                out[start : start + counts.shape[0], k] = vertex + x0
            start += counts.shape[0]
            if self.progress is not None:
                self.progress(start, self.n_bootstrap)
        return out


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
