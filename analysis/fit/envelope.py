"""Lower envelope of final losses: an analogue of Chinchilla's Approach 1.

**How this differs from the paper's Approach 1.** Hoffmann et al. (2022) take the training
*curves* of every run (loss after each step, i.e. at every intermediate FLOP count), form
the lower envelope of all curves at each FLOP value, and read off which model size reached
the lowest loss there. Those per-step curves are not public. This estimator only sees each
run's *final* loss at its final compute: within each FLOP range it keeps the run with the
lowest final loss and the model size that reached it, then fits ``N_opt ∝ C^a`` and
``D_opt ∝ C^b`` through those winners. It therefore samples the envelope only at the
budgets where runs ended, inherits the coarseness of the size grid within each range
(the winner is one of the sizes that were trained, not an interpolated optimum), and
cannot use the intermediate checkpoints that give the paper many more envelope points.

The bootstrap resamples runs within each FLOP range and repeats the selection and fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import AtlasError
from analysis.fit.bootstrap import DEFAULT_CHUNK_SIZE, ProgressCallback, chunk_size_for, chunked_counts
from analysis.fit.isoflop import (
    BUDGET_COLUMNS,
    FLAT_REASON,
    ComputeOptimalResult,
    _budget_labels,
    flat_profile,
    require_usable_budgets,
    summarise_optima,
)
from analysis.fit.runs import TrainingRuns


@dataclass(frozen=True)
class EnvelopeFit:
    """Lowest final loss per FLOP range and the power laws through the winning runs.

    Args:
        budgets: centres of the FLOP ranges; ``None`` detects budget clusters in ``log10 C``
            (see :func:`analysis.fit.isoflop.detect_budgets`).
        tolerance_dex: half-width of each range in ``log10 C``.
        bins_per_decade: instead of budgets, use equal-width ranges of ``1 / bins_per_decade``
            dex with edges at multiples of that width (for runs spread over many budgets).
        min_runs: ranges with fewer runs are reported and left out (one run is no comparison); so is a range
            whose runs all have one model size, or all the same loss.
        exclude_top_loss: drop this many highest-loss runs first.
        n_bootstrap, seed, level, chunk_size, progress: bootstrap settings as elsewhere.
    """

    budgets: tuple[float, ...] | None = None
    tolerance_dex: float = 0.03
    bins_per_decade: float | None = None
    min_runs: int = 3
    exclude_top_loss: int = 0
    n_bootstrap: int = 0
    seed: int | None = 0
    level: float = 0.95
    chunk_size: int = DEFAULT_CHUNK_SIZE
    progress: ProgressCallback | None = None

    def fit(self, runs: TrainingRuns) -> ComputeOptimalResult:
        """Select the lowest-loss run per FLOP range and fit the power laws.

        ``N_opt``/``D_opt``/``loss_opt`` in the budget table are the winning run's own values;
        the ``C`` column is the range centre.

        Raises:
            AtlasError: fewer than two FLOP ranges, or fewer than two with enough runs.
        """
        if self.n_bootstrap < 0:
            raise AtlasError(f"the number of bootstrap resamples must be >= 0, got {self.n_bootstrap}")
        runs = runs.exclude_top_loss(self.exclude_top_loss)
        if self.bins_per_decade is not None:
            centres, labels = _log_bins(runs.C, self.bins_per_decade)
        else:
            centres, labels = _budget_labels(runs, self.budgets, self.tolerance_dex, self.min_runs)
        rows = []
        for k, centre in enumerate(centres):
            members = np.flatnonzero(labels == k)
            row = {"C": centre, "n_runs": int(members.size), "N_opt": np.nan, "D_opt": np.nan,
                   "loss_opt": np.nan, "included": False, "reason": ""}
            if members.size < self.min_runs:
                row["reason"] = f"only {members.size} runs (need {self.min_runs})"
            elif np.unique(runs.N[members]).size < 2:
                row["reason"] = "a single model size: no size to compare it with"
            elif flat_profile(runs.loss[members]):
                row["reason"] = FLAT_REASON
            else:
                best = members[np.argmin(runs.loss[members])]
                row |= {"N_opt": runs.N[best], "D_opt": runs.D[best], "loss_opt": runs.loss[best],
                        "included": True}
            rows.append(row)
        table = pd.DataFrame(rows, columns=BUDGET_COLUMNS)
        require_usable_budgets("envelope", table)
        included = table["included"].to_numpy(bool)
        samples_log_n = self._bootstrap(runs, labels, included)
        # The table's D_opt is the winner's own D; the power law uses it directly.
        return summarise_optima("envelope", runs, table, samples_log_n, self.n_bootstrap, self.seed, self.level)

    def _bootstrap(self, runs: TrainingRuns, labels: np.ndarray, included: np.ndarray) -> np.ndarray:
        if not self.n_bootstrap:
            return np.empty((0, included.size))
        members = np.flatnonzero(np.isin(labels, np.flatnonzero(included)))
        groups = labels[members]
        out = np.full((self.n_bootstrap, included.size), np.nan)
        start = 0
        for counts in chunked_counts(self.seed, members.size, self.n_bootstrap,
                                     chunk_size_for(members.size, self.chunk_size), groups):
            for k in np.flatnonzero(included):
                in_range = groups == k
                loss = np.where(counts[:, in_range] > 0, runs.loss[members[in_range]], np.inf)
                winner = members[in_range][np.argmin(loss, axis=1)]
                out[start : start + counts.shape[0], k] = np.log10(runs.N[winner])
            start += counts.shape[0]
            if self.progress is not None:
                self.progress(start, self.n_bootstrap)
        return out


def _log_bins(C: np.ndarray, bins_per_decade: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-width ranges in ``log10 C``: geometric centres of the occupied ranges and run labels."""
    if not bins_per_decade > 0:
        raise AtlasError(f"bins_per_decade must be positive, got {bins_per_decade}")
    index = np.floor(np.log10(C) * bins_per_decade).astype(int)
    occupied, labels = np.unique(index, return_inverse=True)
    if occupied.size < 2:
        raise AtlasError("the runs span a single FLOP range: use more bins per decade")
    return 10.0 ** ((occupied + 0.5) / bins_per_decade), labels
