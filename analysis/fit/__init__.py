"""Scaling-law estimators with bootstrap uncertainty.

The API is shaped like statsmodels' (a model is configured, ``fit`` returns a results object), not
like scikit-learn's (no ``predict`` on the estimator, no mutation): every estimator is a frozen
dataclass whose ``fit(...)`` returns an immutable result with the same surface -- ``params``,
``ci`` (percentile bootstrap intervals at ``level``), ``summary()`` (text) and ``to_dict()``
(JSON-ready).

* :class:`ParametricLossFit` -- ``L(N, D) = E + A/N^alpha + B/D^beta`` (Chinchilla Approach 3).
* :class:`HuberLikelihoodFit` -- the same law by maximum likelihood with a Huber-shaped density and a
  free scale (the replication of Besiroglu et al. 2024).
* :class:`IsoFLOPFit` -- IsoFLOP profiles (parabolas or interpolation) and ``N_opt ∝ C^a`` (Approach 2).
* :class:`EnvelopeFit` -- lowest loss per FLOP range from final losses (Approach 1 analogue).
* :class:`LogLinearTrend`, :class:`PowerLawTrend`, :func:`pareto_frontier` -- trend tools.
* :class:`EfficiencyTrend` -- a score on log-compute and release date (efficiency over time).
* :func:`holdout_check` -- fit the smaller budgets, predict the largest (Li et al. 2025).
* :func:`load_runs` -- read a table of runs (any delimiter, the usual column names) and validate it.

The laws themselves (``C = 6ND``, :class:`ParametricLaw`, :class:`PowerLaw`) live in
:mod:`analysis.fit.laws`.
"""

from typing import TYPE_CHECKING, Any

from analysis.fit.efficiency import EfficiencyResult, EfficiencyTrend
from analysis.fit.envelope import EnvelopeFit
from analysis.fit.holdout import HoldoutResult, holdout_check
from analysis.fit.isoflop import ComputeOptimalResult, IsoFLOPFit, detect_budgets
from analysis.fit.laws import FLOP_PER_PARAMETER_TOKEN, ParametricLaw, PowerLaw
from analysis.fit.parametric import ParametricLossFit, ParametricLossResult, huber_objective
from analysis.fit.runs import TrainingRuns, find_columns, load_runs, read_runs_table
from analysis.fit.trend import LogLinearTrend, PowerLawTrend, TrendResult, pareto_frontier

if TYPE_CHECKING:
    from analysis.fit.likelihood import HuberLikelihoodFit, HuberLikelihoodResult


def __getattr__(name: str) -> Any:
    # The likelihood fit needs scipy (optimize, sparse, special: about 0.3 s to import) and only the
    # replication of chapter 5 uses it, so it is imported when first asked for, not with the package.
    if name in ("HuberLikelihoodFit", "HuberLikelihoodResult"):
        from analysis.fit import likelihood

        return getattr(likelihood, name)
    raise AttributeError(f"module 'analysis.fit' has no attribute {name!r}")


__all__ = [
    "FLOP_PER_PARAMETER_TOKEN",
    "ComputeOptimalResult",
    "EfficiencyResult",
    "EfficiencyTrend",
    "EnvelopeFit",
    "HoldoutResult",
    "HuberLikelihoodFit",
    "HuberLikelihoodResult",
    "IsoFLOPFit",
    "LogLinearTrend",
    "ParametricLaw",
    "ParametricLossFit",
    "ParametricLossResult",
    "PowerLaw",
    "PowerLawTrend",
    "TrainingRuns",
    "TrendResult",
    "detect_budgets",
    "find_columns",
    "holdout_check",
    "huber_objective",
    "load_runs",
    "pareto_frontier",
    "read_runs_table",
]
