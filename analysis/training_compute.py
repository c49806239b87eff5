"""Training compute ``C = 6 N D``, defined once for every part of the package.

It sits outside :mod:`analysis.fit` (which takes it from here, through :mod:`analysis.fit.laws`) so
that :mod:`analysis.data` can turn a run's compute into tokens without importing the fits: data flows
into the fits, never back. Units: ``N`` in parameters, ``D`` in tokens, ``C`` in FLOP.
"""

from __future__ import annotations

from typing import Any

FLOP_PER_PARAMETER_TOKEN = 6.0
"""Training FLOP per parameter per token in the usual approximation ``C = 6 N D``."""


def training_flop(N: Any, D: Any) -> Any:
    """Training compute ``C = 6 N D`` (FLOP) of ``N`` parameters trained on ``D`` tokens (broadcast)."""
    return FLOP_PER_PARAMETER_TOKEN * N * D


def tokens_at_budget(C: Any, N: Any) -> Any:
    """Training tokens ``D = C / (6 N)`` that a budget of ``C`` FLOP buys a model of ``N`` parameters."""
    return C / (FLOP_PER_PARAMETER_TOKEN * N)
