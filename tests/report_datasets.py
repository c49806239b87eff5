"""Training-run tables for the ``atlas report`` tests, drawn from known laws (no fitted values)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TRUE_LAW = {"E": 1.9, "A": 350.0, "B": 1200.0, "alpha": 0.32, "beta": 0.30}
"""The loss law the synthetic family is drawn from: L = E + A / N^alpha + B / D^beta (nats/token)."""


def law_loss(N: np.ndarray, D: np.ndarray, law: dict[str, float] = TRUE_LAW) -> np.ndarray:
    """Loss of the law at N parameters and D tokens."""
    return law["E"] + law["A"] / N ** law["alpha"] + law["B"] / D ** law["beta"]


def true_n_opt(C: np.ndarray | float, law: dict[str, float] = TRUE_LAW) -> np.ndarray:
    """Compute-optimal size of the law at budget C (FLOP), minimised numerically on a fine grid."""
    C = np.atleast_1d(np.asarray(C, dtype=float))
    sizes = np.geomspace(1e5, 1e14, 200_001)
    return np.array([sizes[np.argmin(law_loss(sizes, c / (6 * sizes), law))] for c in C])


def isoflop_family(
    budgets: tuple[float, ...] = (1e18, 1e19, 1e20, 1e21),
    sizes_per_budget: int = 9,
    noise: float = 0.01,
    seed: int = 1,
) -> pd.DataFrame:
    """Runs on IsoFLOP slices around the true optimum, with log-normal noise on the loss.

    Columns ``params`` (N, parameters), ``flops`` (C, FLOP) and ``final_loss`` (nats/token):
    deliberately not the default names, so the tests exercise the column options.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for budget in budgets:
        centre = float(true_n_opt(budget)[0])
        for N in centre * np.geomspace(1 / 8, 8, sizes_per_budget):
            D = budget / (6 * N)
            loss = float(law_loss(np.array(N), np.array(D))) * float(np.exp(rng.normal(0.0, noise)))
            rows.append({"params": N, "flops": budget, "final_loss": loss})
    return pd.DataFrame(rows)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV without the index and return the path."""
    frame.to_csv(path, index=False)
    return path
