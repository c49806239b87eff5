"""The fits of a report: each approach fitted lazily, and declined with a reason when the data cannot support it.

The fits are made once per render: the report's pre-render script (:func:`prepare_fits`) fits the runs and
keeps the outcomes in ``.atlas-report/`` under a key made of the runs file, the settings and the fitting
code, and every chapter reads them from there. A chapter rendered on its own fits what it needs itself.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

import analysis.fit
from analysis.errors import AtlasError
from analysis.fit import (
    ComputeOptimalResult,
    EnvelopeFit,
    IsoFLOPFit,
    ParametricLossFit,
    ParametricLossResult,
    TrainingRuns,
    detect_budgets,
)
from analysis.fit.holdout import HoldoutResult, holdout_check
from analysis.report.settings import SETTINGS_FILE, ReportSettings, read_runs
from analysis.text import number

ResultT = TypeVar("ResultT")

THIS_FIT = "This report"
"""Label of the report's own parametric fit in tables and charts."""
EXTRAPOLATION_DECADES = 2
"""How many decades of compute beyond the largest run the allocation table reaches."""

NUMERICAL_FAILURES = (ArithmeticError, np.linalg.LinAlgError)
"""Numerical failures inside an estimator (overflow, a singular system) that decline a fit rather than
stop the report. Anything else, a ``ValueError`` or ``TypeError`` included, is a programming error and
raises."""


@dataclass(frozen=True)
class FitOutcome(Generic[ResultT]):
    """A fit's result, or the reason it was declined (exactly one of the two is set)."""

    result: ResultT | None
    reason: str | None = None
    budgets: pd.DataFrame | None = None
    """Per-budget rows (``C, n_runs, N_opt, D_opt, loss_opt, included, reason``) of a declined
    IsoFLOP fit, when the estimator's error carries them; a result has its own."""

    @property
    def available(self) -> bool:
        """Whether the fit produced a result."""
        return self.result is not None


def attempt(fit: Callable[[], ResultT]) -> FitOutcome[ResultT]:
    """Run ``fit``; a failure the estimator declares declines it instead of failing the report.

    An :class:`AtlasError` (too few runs, a single budget, ...) gives its own message as the
    reason; a numerical failure (:data:`NUMERICAL_FAILURES`) is declined too, naming the error.
    """
    try:
        return FitOutcome(fit())
    except AtlasError as error:
        return FitOutcome(None, str(error).rstrip("."), budgets=getattr(error, "budgets", None))
    except NUMERICAL_FAILURES as error:
        return FitOutcome(None, f"the fit failed numerically on these runs ({type(error).__name__}: {error})")


CACHE_FOLDER = ".atlas-report"
"""Folder of a report where :func:`prepare_fits` keeps the fits for the chapters."""

FIT_NAMES = ("parametric", "isoflop", "envelope", "holdout")


def cache_key(settings: ReportSettings, runs_path: Path) -> str:
    """SHA-256 of the runs file, the settings and the source of :mod:`analysis.fit`: what the fits depend on."""
    digest = hashlib.sha256(runs_path.read_bytes())
    digest.update(repr(sorted(vars(settings).items())).encode())
    for source in sorted(Path(analysis.fit.__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:32]


class ReportFits:
    """The three approaches and the held-out check on one report's runs, each fitted when first asked for
    (or read from the pre-render's cache).

    Args:
        settings: the report's fitting options.
        runs: all runs of the table, validated.
        cache: the cache file of :func:`prepare_fits` for these runs and settings, if any.
    """

    def __init__(self, settings: ReportSettings, runs: TrainingRuns, cache: Path | None = None) -> None:
        self.settings = settings
        self.runs = runs
        self._cached: dict[str, Any] = {}
        if cache is not None and cache.is_file():
            with cache.open("rb") as handle:
                self._cached = pickle.load(handle)

    @cached_property
    def fitted_runs(self) -> TrainingRuns:
        """The runs every fit uses: all of them minus the excluded highest losses."""
        return self.runs.exclude_top_loss(self.settings.exclude_top_loss)

    def allocation_budgets(self) -> np.ndarray:
        """Whole decades of compute (FLOP) from the smallest run to :data:`EXTRAPOLATION_DECADES` past the largest."""
        low = math.floor(math.log10(float(self.runs.C.min())))
        high = math.ceil(math.log10(float(self.runs.C.max()))) + EXTRAPOLATION_DECADES
        return 10.0 ** np.arange(low, high + 1)

    def _options(self) -> dict[str, Any]:
        s = self.settings
        return {"exclude_top_loss": s.exclude_top_loss, "n_bootstrap": s.bootstrap, "seed": s.seed, "level": s.level}

    def parametric_estimator(self) -> ParametricLossFit:
        """The parametric fit the settings describe."""
        s = self.settings
        return ParametricLossFit(huber_delta=s.huber_delta, max_iter=s.max_iter, fixed=s.fixed or None, **self._options())

    @cached_property
    def parametric(self) -> FitOutcome[ParametricLossResult]:
        """Approach 3: L(N, D) = E + A / N^alpha + B / D^beta, with bootstrap intervals."""
        if "parametric" in self._cached:
            return self._cached["parametric"]
        estimator = self.parametric_estimator()
        outcome = attempt(lambda: estimator.fit(self.runs))
        if outcome.result is not None:
            exponents = {"α": outcome.result.params["alpha"], "β": outcome.result.params["beta"]}
            bad = [f"{name} = {number(value)}" for name, value in exponents.items() if not value > 0]
            if bad:
                # With a non-positive exponent loss no longer falls with size or data, so the law
                # has no compute-optimal allocation (N_opt would be complex or unbounded).
                return FitOutcome(None, f"the best fit has a non-positive exponent ({', '.join(bad)}): "
                                        "loss does not fall with both model size and data in these runs")
        return outcome

    @cached_property
    def isoflop(self) -> FitOutcome[ComputeOptimalResult]:
        """Approach 2: each FLOP budget's optimum (a parabola's vertex, or an interpolated minimum), then N_opt and
        D_opt as powers of C."""
        if "isoflop" in self._cached:
            return self._cached["isoflop"]
        s = self.settings
        estimator = IsoFLOPFit(method=s.isoflop_method, loss_noise=s.loss_noise, **self._options())
        return attempt(lambda: estimator.fit(self.runs))

    @cached_property
    def envelope(self) -> FitOutcome[ComputeOptimalResult]:
        """Approach 1 analogue: the lowest loss per FLOP range and the size that reached it."""
        if "envelope" in self._cached:
            return self._cached["envelope"]
        estimator = EnvelopeFit(**self._options())
        return attempt(lambda: estimator.fit(self.runs))

    @cached_property
    def holdout(self) -> FitOutcome[HoldoutResult]:
        """The held-out check (Li et al. 2025): the parametric fit to the smaller budgets predicting the largest."""
        if "holdout" in self._cached:
            return self._cached["holdout"]
        estimator = self.parametric_estimator()
        return attempt(lambda: holdout_check(estimator, self.runs))  # it drops the top losses of the runs it fits

    @cached_property
    def detected_budgets(self) -> tuple[np.ndarray, np.ndarray]:
        """FLOP budgets found in the fitted runs as the IsoFLOP fit finds them.

        Returns ``(budgets, labels)``: budget centres in FLOP, shape ``(k,)``, and for each
        fitted run the index of its budget or -1, shape ``(n,)``.
        """
        return detect_budgets(self.fitted_runs.C)

    def run_budgets(self) -> np.ndarray:
        """The FLOP budget of each fitted run, NaN for runs in no budget, shape ``(n,)``."""
        budgets, labels = self.detected_budgets
        return np.where(labels >= 0, budgets[np.maximum(labels, 0)] if budgets.size else np.nan, np.nan)

    def isoflop_budgets(self) -> pd.DataFrame | None:
        """Each budget's IsoFLOP row (``C, n_runs, N_opt, D_opt, loss_opt, included, reason``),
        from the result or a declined fit's error; ``None`` when the fit stopped before judging them."""
        outcome = self.isoflop
        return outcome.result.budgets if outcome.result is not None else outcome.budgets


def prepare_fits(root: str | Path = ".") -> int:
    """Fit a report's runs once and keep the outcomes for its chapters (the report's pre-render script).

    Writes ``.atlas-report/fits-<key>.pkl`` (:func:`cache_key`), removing older ones. A problem with the
    settings or the runs is left for the chapters to report, which they do in their own words.
    """
    root = Path(root)
    try:
        settings = ReportSettings.read(root / SETTINGS_FILE)
        runs = read_runs(settings, root / settings.runs)
    except AtlasError:
        return 0
    folder = root / CACHE_FOLDER
    folder.mkdir(exist_ok=True)
    target = folder / f"fits-{cache_key(settings, root / settings.runs)}.pkl"
    if target.is_file():
        return 0
    fits = ReportFits(settings, runs)
    outcomes = {name: getattr(fits, name) for name in FIT_NAMES}
    partial = target.with_suffix(f".{os.getpid()}.part")
    with partial.open("wb") as handle:
        pickle.dump(outcomes, handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(target)
    for older in folder.glob("fits-*.pkl"):
        if older != target:
            older.unlink(missing_ok=True)
    return 0


def cache_file(settings: ReportSettings, root: Path) -> Path:
    """Where :func:`prepare_fits` keeps the fits of these settings and runs."""
    return root / CACHE_FOLDER / f"fits-{cache_key(settings, root / settings.runs)}.pkl"
