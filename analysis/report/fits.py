"""The fits of a report: each approach fitted lazily, and declined with a reason when the data cannot support it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

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
from analysis.report.settings import ReportSettings
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


class ReportFits:
    """The three approaches on one report's runs, each fitted when first asked for.

    Args:
        settings: the report's fitting options.
        runs: all runs of the table, validated.
    """

    def __init__(self, settings: ReportSettings, runs: TrainingRuns) -> None:
        self.settings = settings
        self.runs = runs

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

    @cached_property
    def parametric(self) -> FitOutcome[ParametricLossResult]:
        """Approach 3: L(N, D) = E + A / N^alpha + B / D^beta, with bootstrap intervals."""
        estimator = ParametricLossFit(**self._options())
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
        """Approach 2: a parabola per FLOP budget, then N_opt and D_opt as powers of C."""
        estimator = IsoFLOPFit(**self._options())
        return attempt(lambda: estimator.fit(self.runs))

    @cached_property
    def envelope(self) -> FitOutcome[ComputeOptimalResult]:
        """Approach 1 analogue: the lowest loss per FLOP range and the size that reached it."""
        estimator = EnvelopeFit(**self._options())
        return attempt(lambda: estimator.fit(self.runs))

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
