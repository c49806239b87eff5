"""Held-out check of a parametric fit: fit the smaller budgets, predict the largest, report the error.

A law fitted to training runs is used to predict runs larger than any it saw. Li et al. (2025) ask
every scaling study to show how well it does that on runs it could have predicted: fit on the runs
with less compute, predict the final loss of those with the most, and report the error.
:func:`holdout_check` does that for :class:`analysis.fit.ParametricLossFit`:

* held out are the runs of the largest FLOP budget when the runs fall into IsoFLOP budgets
  (:func:`analysis.fit.isoflop.detect_budgets`), otherwise the :data:`HOLDOUT_SHARE` of the runs
  with the most compute (ties at the threshold included);
* the fit uses every run with less compute than the smallest held-out run;
* the result gives each held-out run's predicted and observed loss, and the mean and largest
  absolute relative errors (percent of the observed loss).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AtlasError
from analysis.fit.isoflop import detect_budgets
from analysis.fit.parametric import ParametricLossFit, ParametricLossResult
from analysis.fit.runs import TrainingRuns
from analysis.fit.serialise import json_ready

HOLDOUT_SHARE = 0.1
"""Without IsoFLOP budgets, the share of runs (those with the most compute) held out."""


@dataclass(frozen=True)
class HoldoutResult:
    """How well a parametric fit to the smaller budgets predicts the runs at the largest.

    Attributes:
        split_flop: the held-out runs have at least this compute (FLOP); the fit used the runs below it.
        held_out: one row per held-out run: ``N`` (parameters), ``D`` (tokens), ``C`` (FLOP), ``loss`` and
            ``predicted`` (nats/token), ``error`` (``predicted / loss - 1``).
        how: how the held-out runs were chosen, in words.
        fit: the parametric fit to the other runs.
    """

    split_flop: float
    held_out: pd.DataFrame
    how: str
    fit: ParametricLossResult = field(repr=False)

    @property
    def n_fitted(self) -> int:
        """Runs the fit used."""
        return self.fit.n_points

    @property
    def mean_abs_error(self) -> float:
        """Mean absolute relative error of the predicted losses (a fraction: 0.01 is 1%)."""
        return float(np.mean(np.abs(self.held_out["error"])))

    @property
    def max_abs_error(self) -> float:
        """Largest absolute relative error of the predicted losses (a fraction)."""
        return float(np.max(np.abs(self.held_out["error"])))

    @property
    def mean_error(self) -> float:
        """Mean signed relative error (positive: the fit predicts too high a loss)."""
        return float(np.mean(self.held_out["error"]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (non-finite numbers as ``None``)."""
        return json_ready({
            "held_out_from_flop": self.split_flop,
            "how": self.how,
            "n_fitted": self.n_fitted,
            "n_held_out": len(self.held_out),
            "mean_abs_error": self.mean_abs_error,
            "max_abs_error": self.max_abs_error,
            "mean_error": self.mean_error,
            "fit_params": self.fit.params,
            "fit_exponents": self.fit.exponents,
            "fit_warnings": list(self.fit.warnings),
            "runs": self.held_out.to_dict(orient="records"),
        })

    def summary(self) -> str:
        """A readable account: what was held out, the errors, and each held-out run."""
        lines = [
            "Held-out check (Li et al. 2025): fit the smaller budgets, predict the largest",
            "-" * 78,
            f"Held out: {len(self.held_out)} runs with C >= {self.split_flop:.3g} FLOP ({self.how}); "
            f"fitted to the other {self.n_fitted}",
            f"Predicted loss vs observed: mean |error| {100 * self.mean_abs_error:.2f}%, "
            f"largest {100 * self.max_abs_error:.2f}%, mean error {100 * self.mean_error:+.2f}%",
            *(f"Warning (the fit to the smaller budgets): {warning}" for warning in self.fit.warnings),
            f"{'N':>12}{'D':>12}{'C':>12}{'loss':>10}{'predicted':>11}{'error':>9}",
        ]
        columns = [self.held_out[name].to_numpy(dtype=float) for name in ("N", "D", "C", "loss", "predicted", "error")]
        for N, D, C, loss, predicted, error in zip(*columns, strict=True):
            lines.append(f"{N:>12.4g}{D:>12.4g}{C:>12.4g}{loss:>10.4f}{predicted:>11.4f}{100 * error:>8.2f}%")
        return "\n".join(lines)


def holdout_split(runs: TrainingRuns) -> tuple[np.ndarray, float, str]:
    """Which runs to hold out: ``(mask (n,), smallest held-out compute in FLOP, how they were chosen)``."""
    budgets, labels = detect_budgets(runs.C)
    if budgets.size >= 2:
        held = labels == budgets.size - 1
        how = f"the largest of {budgets.size} IsoFLOP budgets"
    else:
        threshold = float(np.quantile(runs.C, 1.0 - HOLDOUT_SHARE, method="higher"))
        held = threshold <= runs.C
        how = f"the {HOLDOUT_SHARE:.0%} of runs with the most compute"
    split = float(runs.C[held].min())
    return split <= runs.C, split, how


def holdout_check(estimator: ParametricLossFit, runs: TrainingRuns) -> HoldoutResult:
    """Fit ``estimator`` (its bootstrap left out) to the runs below the largest budget and predict the rest.

    ``exclude_top_loss`` applies to the runs fitted. Raises :class:`AtlasError` when the smaller budgets have
    too few distinct runs to fit. The inner fit's warnings are kept on ``fit.warnings`` (and in the
    summary), not raised a second time.
    """
    held, split, how = holdout_split(runs)
    fitted_runs = runs.subset(~held)
    if len(fitted_runs) == 0:
        raise AtlasError("held-out check: every run has the largest compute, so nothing is left to fit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = replace(estimator, n_bootstrap=0, progress=None).fit(fitted_runs)
    except AtlasError as error:
        raise AtlasError(f"held-out check: the runs below {split:.3g} FLOP cannot be fitted: {error}") from error
    test = runs.subset(held)
    predicted = np.asarray(fit.loss(test.N, test.D), dtype=float)
    frame = pd.DataFrame({"N": test.N, "D": test.D, "C": test.C, "loss": test.loss, "predicted": predicted,
                          "error": predicted / test.loss - 1.0})
    if not np.isfinite(frame["predicted"]).all():
        raise AtlasError("held-out check: the fit gives no finite prediction for the held-out runs")
    return HoldoutResult(split_flop=split, held_out=frame.sort_values("C").reset_index(drop=True), how=how, fit=fit)
