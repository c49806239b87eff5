"""Porian et al. (2024)'s IsoFLOP runs: the ten settings, the exponents the paper publishes, and our refits.

The runs are ``data/porian2024_isoflop.csv`` (``dataset`` ``rw`` = RefinedWeb or ``owt2`` = OpenWebText2, ``step``
1 to 5 in the paper's order); the published exponents are the ``porian2024_<dataset>_step<k>`` rows of
``data/scaling_laws.csv``. A refit is :class:`~analysis.fit.IsoFLOPFit` with ``method="interpolation"`` and
the loss noise the paper's bootstrap assumes for the dataset (:data:`SEED_NOISE`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis.data import load_table
from analysis.fit import ComputeOptimalResult, IsoFLOPFit, TrainingRuns
from analysis.published import published_laws

DATASETS = {"rw": "RefinedWeb", "owt2": "OpenWebText2"}
"""Dataset codes of the runs table and their names."""

STEPS = (1, 2, 3, 4, 5)
"""The settings of each dataset, in the paper's order (see the runs table's description)."""

BASE_STEP = {2: 1, 3: 2, 4: 3, 5: 3}
"""The setting each step changes, as the arrows of Porian et al.'s Figure 1 run: steps 2 to 4 each build on the one
before; step 5 builds on step 3, with a constant learning rate instead of step 4's matched decay and AdamW tuned per
size. Steps 1, 2, 3 and 5 lead from Kaplan et al.'s set-up to Hoffmann et al.'s exponent; step 4 branches off."""

PATH_STEPS = (1, 2, 3, 5)
"""The steps from Kaplan et al.'s set-up to the last one, each building on the one before."""

SEED_NOISE = {"rw": 0.002, "owt2": 0.01}
"""Standard deviation (nats/token) of the Gaussian noise Porian et al.'s bootstrap adds to every loss, per dataset:
``noise_low`` of ``RW_SEED_CONFIG`` and ``OWT2_SEED_CONFIG`` in the repository's ``configs.py``. Their code meant the
noise to grow with the loss above a threshold, but it compares ``log(loss)`` with thresholds given in loss units
(3 and 6 or 7), so every loss below e^3 ≈ 20 nats, i.e. every run here, gets ``noise_low``."""

N_BOOTSTRAP = 1000
"""Resamples per setting, as in the paper's analysis."""

_LAW_ID = re.compile(r"porian2024_(rw|owt2)_step([1-5])")


def load_runs() -> pd.DataFrame:
    """The 1,160 runs, validated: ``dataset``, ``step``, ``C`` (FLOP), ``N`` (parameters), ``loss`` (nats/token)
    and provenance columns."""
    return load_table("porian2024_isoflop")


def setting_runs(runs: pd.DataFrame, dataset: str, step: int) -> TrainingRuns:
    """The runs of one setting as :class:`TrainingRuns` (tokens ``D = C / (6 N)``)."""
    chosen = runs[(runs["dataset"] == dataset) & (runs["step"] == step)]
    if chosen.empty:
        raise KeyError(f"no runs for dataset {dataset!r}, step {step}")
    return TrainingRuns.from_frame(chosen, n_col="N", d_col=None, c_col="C", loss_col="loss")


def published_exponents() -> pd.DataFrame:
    """The ten published exponents: ``dataset``, ``step``, ``a`` (``N_opt ∝ C^a``) and ``approach`` (the setting
    in words), from ``data/scaling_laws.csv``, ordered by dataset and step."""
    rows = []
    for law_id, law in published_laws().items():
        match = _LAW_ID.fullmatch(law_id)
        if match and "a" in law.coefficients:
            dataset, step = match.groups()
            rows.append({"dataset": dataset, "step": int(step), "a": law.coefficients["a"], "approach": law.approach})
    rows.sort(key=lambda row: (list(DATASETS).index(row["dataset"]), row["step"]))
    return pd.DataFrame(rows)


def estimator(dataset: str, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> IsoFLOPFit:
    """Porian et al.'s procedure for a setting of ``dataset`` (interpolated minima, a bootstrap adding the dataset's
    :data:`SEED_NOISE` to every loss, median optima, inverse-variance weights), as chapter 6 runs it."""
    return IsoFLOPFit(method="interpolation", loss_noise=SEED_NOISE[dataset], n_bootstrap=n_bootstrap, seed=seed)


def refit(runs: TrainingRuns, dataset: str, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> ComputeOptimalResult:
    """One setting refitted with Porian et al.'s procedure (:func:`estimator`)."""
    return estimator(dataset, n_bootstrap, seed).fit(runs)


def refit_results(n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> dict[tuple[str, int], ComputeOptimalResult]:
    """All ten settings refitted, keyed by ``(dataset, step)`` in :data:`DATASETS` and :data:`STEPS` order."""
    runs = load_runs()
    return {(dataset, step): refit(setting_runs(runs, dataset, step), dataset, n_bootstrap, seed)
            for dataset in DATASETS for step in STEPS}


def exponent_frame(results: dict[tuple[str, int], ComputeOptimalResult]) -> pd.DataFrame:
    """The refitted exponents set against the published ones.

    Returns one row per setting: ``dataset``, ``step``, ``a`` with its percentile interval ``a_lo``/``a_hi``
    (95%), ``published``, ``difference`` (``a - published``), ``budgets_used`` and ``budgets``.
    """
    published = published_exponents().set_index(["dataset", "step"])["a"]
    rows = []
    for (dataset, step), result in results.items():
        a = result.exponents["a"]
        lo, hi = result.ci.get("a", (np.nan, np.nan))
        rows.append({"dataset": dataset, "step": step, "a": a, "a_lo": lo, "a_hi": hi,
                     "published": published[(dataset, step)], "difference": a - published[(dataset, step)],
                     "budgets_used": int(result.budgets["included"].sum()), "budgets": len(result.budgets)})
    return pd.DataFrame(rows)


def refit_all(n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """All ten settings refitted and set against the published exponents (see :func:`exponent_frame`)."""
    return exponent_frame(refit_results(n_bootstrap, seed))
