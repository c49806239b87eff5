"""Training-run tables shared by the tests: the Epoch runs and held-out tables from the data mirror, and
synthetic runs drawn from known laws (no fitted values)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from conftest import unavailable

from analysis.data import DATA_DIR, external_dataset, load_chinchilla_runs
from analysis.data.external import MIRROR_ENV

DEFAULT_MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data"
"""Where CI keeps the mirror: the folder ``shared/data`` beside the checkout."""

# Published estimates on the Epoch runs (facts from the papers, see the mirror's README).
BESIROGLU_2024 = {"E": 1.82, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
BESIROGLU_2024_SE = {"E": 0.03, "A": 125.0, "B": 1293.0, "alpha": 0.02, "beta": 0.02}
HOFFMANN_2022 = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def mirror_dir() -> Path:
    """The data mirror (``$ATLAS_DATA_MIRROR``, else ``shared/data`` beside the checkout), for the files only
    it has (held-out tables, its README); unavailable without one."""
    root = Path(os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR)
    if not root.is_dir():
        unavailable(f"data mirror not found: set {MIRROR_ENV} to the mirror folder")
    return root


def epoch_runs_path() -> Path:
    """The verified Epoch runs file, as ``atlas data fetch`` caches it (``data/external/``).

    Read through :func:`analysis.data.load_chinchilla_runs`, so a checksum or loader failure fails the
    test. Unavailable only when the file is neither fetched nor reachable through ``$ATLAS_DATA_MIRROR``.
    """
    path = DATA_DIR / external_dataset().path
    if not path.is_file() and not os.environ.get(MIRROR_ENV):
        unavailable(f"{path} not fetched: run `atlas data fetch` (or set {MIRROR_ENV})")
    load_chinchilla_runs()  # copies from the mirror when needed; verifies the checksum
    return path


def require_epoch_runs() -> None:
    """Make sure the Epoch runs can be loaded (see :func:`epoch_runs_path`)."""
    epoch_runs_path()


def epoch_runs_frame() -> pd.DataFrame:
    """The 245 Epoch runs as columns N, D, C, loss, read by :func:`analysis.data.load_chinchilla_runs`."""
    require_epoch_runs()
    return load_chinchilla_runs()


def heldout_frame(name: str) -> pd.DataFrame:
    """A held-out table from the mirror's ``heldout/`` folder."""
    path = mirror_dir() / "heldout" / name
    if not path.is_file():
        unavailable(f"held-out table not in the mirror: {path}")
    return pd.read_csv(path)


def law_loss(params: dict[str, float], N: np.ndarray, D: np.ndarray) -> np.ndarray:
    """``E + A / N**alpha + B / D**beta`` (nats/token)."""
    return params["E"] + params["A"] / N ** params["alpha"] + params["B"] / D ** params["beta"]


def synthetic_grid_runs(
    params: dict[str, float], noise: float, seed: int, n_sizes: int = 12, n_tokens: int = 10
) -> pd.DataFrame:
    """Runs on a grid of sizes (1e7..1e10) and tokens (1e8..1e12) with multiplicative log-normal noise."""
    rng = np.random.default_rng(seed)
    N, D = np.meshgrid(np.geomspace(1e7, 1e10, n_sizes), np.geomspace(1e8, 1e12, n_tokens))
    N, D = N.ravel(), D.ravel()
    loss = law_loss(params, N, D) * np.exp(noise * rng.standard_normal(N.size))
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": loss})


def synthetic_isoflop_runs(
    params: dict[str, float], budgets: tuple[float, ...], noise: float, seed: int, sizes_per_budget: int = 9,
    span_dex: float = 0.8,
) -> pd.DataFrame:
    """IsoFLOP runs: at each budget, sizes spanning ``±span_dex`` around the law's optimum."""
    rng = np.random.default_rng(seed)
    frames = []
    for C in budgets:
        sizes = np.geomspace(1e5, 1e13, 20001)
        centre = sizes[np.argmin(law_loss(params, sizes, C / (6 * sizes)))]
        N = centre * np.logspace(-span_dex, span_dex, sizes_per_budget)
        D = C / (6 * N)
        loss = law_loss(params, N, D) * np.exp(noise * rng.standard_normal(N.size))
        frames.append(pd.DataFrame({"N": N, "D": D, "C": np.full(N.size, C), "loss": loss}))
    return pd.concat(frames, ignore_index=True)


TRUE_LAW = {"E": 1.9, "A": 350.0, "B": 1200.0, "alpha": 0.32, "beta": 0.30}
"""The loss law the synthetic family is drawn from: L = E + A / N^alpha + B / D^beta (nats/token)."""


def true_n_opt(C: np.ndarray | float, law: dict[str, float] = TRUE_LAW) -> np.ndarray:
    """Compute-optimal size of the law at budget C (FLOP), minimised numerically on a fine grid."""
    C = np.atleast_1d(np.asarray(C, dtype=float))
    sizes = np.geomspace(1e5, 1e14, 200_001)
    return np.array([sizes[np.argmin(law_loss(law, sizes, c / (6 * sizes)))] for c in C])


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
            loss = float(law_loss(TRUE_LAW, np.array(N), np.array(D))) * float(np.exp(rng.normal(0.0, noise)))
            rows.append({"params": N, "flops": budget, "final_loss": loss})
    return pd.DataFrame(rows)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV without the index and return the path."""
    frame.to_csv(path, index=False)
    return path


def pure_noise_runs(seed: int, n_runs: int = 30) -> pd.DataFrame:
    """Runs with no scaling at all: N log-uniform in 1e7..1e9, D log-uniform in 1e8..1e10, loss = 3 + Normal(0, 0.05).

    Columns N (parameters), D (tokens), C (= 6 N D, FLOP), loss (nats/token).
    """
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 9, n_runs)
    D = 10 ** rng.uniform(8, 10, n_runs)
    loss = 3.0 + rng.normal(0.0, 0.05, n_runs)
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": loss})
