"""Scaling-law estimators with bootstrap uncertainty (scikit-learn style: configure, ``fit``, read the result).

* :class:`ParametricLossFit` -- ``L(N, D) = E + A/N^alpha + B/D^beta`` (Chinchilla Approach 3).
* :class:`IsoFLOPFit` -- IsoFLOP profiles (parabolas or interpolation) and ``N_opt ∝ C^a`` (Approach 2).
* :class:`EnvelopeFit` -- lowest loss per FLOP range from final losses (Approach 1 analogue).
* :class:`LogLinearTrend`, :class:`PowerLawTrend`, :func:`pareto_frontier` -- trend tools.
"""

from analysis.fit.envelope import EnvelopeFit
from analysis.fit.isoflop import ComputeOptimalResult, IsoFLOPFit, detect_budgets
from analysis.fit.parametric import ParametricLossFit, ParametricLossResult, huber_objective
from analysis.fit.runs import TrainingRuns, read_runs_table
from analysis.fit.trend import LogLinearTrend, PowerLawTrend, TrendResult, pareto_frontier

__all__ = [
    "ComputeOptimalResult",
    "EnvelopeFit",
    "IsoFLOPFit",
    "LogLinearTrend",
    "ParametricLossFit",
    "ParametricLossResult",
    "PowerLawTrend",
    "TrainingRuns",
    "TrendResult",
    "detect_budgets",
    "huber_objective",
    "pareto_frontier",
    "read_runs_table",
]
