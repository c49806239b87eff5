"""The Chinchilla training runs fitted three ways: shared by chapters 4 and 5 and the methods appendix.

The 245 training runs Epoch AI read off Figure 4 of Hoffmann et al. (2022) are fitted once per
process (:func:`epoch_fits`, cached) with the three approaches of the paper:

* Approach 1 analogue -- :class:`analysis.fit.EnvelopeFit` (lowest loss per FLOP range; the
  paper used the per-step training curves, which are not public);
* Approach 2 -- :class:`analysis.fit.IsoFLOPFit` (a parabola per IsoFLOP slice);
* Approach 3 -- :class:`analysis.fit.ParametricLossFit` (Huber loss on log-loss, as Hoffmann et
  al. describe it, the 5 highest-loss runs dropped, as in Besiroglu et al. 2024);
* and the replication's own objective -- :class:`analysis.fit.HuberLikelihoodFit` (a likelihood with
  a Huber-shaped density and a free scale, Besiroglu et al.'s Table 1), a point estimate.

Bootstraps are seeded, so the book is reproducible; tests pass a small ``n_bootstrap``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.chapters.common import SEED, source_text
from analysis.data import load_chinchilla_runs, load_table
from analysis.fit import (
    ComputeOptimalResult,
    EnvelopeFit,
    HuberLikelihoodFit,
    HuberLikelihoodResult,
    IsoFLOPFit,
    ParametricLossFit,
    ParametricLossResult,
    TrainingRuns,
)
from analysis.fit.isoflop import assign_to_budgets
from analysis.fit.laws import training_flop

BOOK_BOOTSTRAP = 1000
"""Bootstrap resamples of the runs used by the book (tests use fewer)."""
HUBER_DELTA = 1e-3
"""Huber threshold on log-loss residuals, as in Hoffmann et al. and the replication."""
EXCLUDE_TOP_LOSS = 5
"""Highest-loss runs left out of every fit, as in the replication."""
ISOFLOP_MIN_RUNS = 8
"""The paper's IsoFLOP slices are the budgets with many model sizes; the extracted runs also hold
small clusters (3 to 7 runs) from other experiments, which Approach 2 leaves out."""
RUNS_SOURCE = "Epoch AI extraction of Hoffmann et al. (2022), Figure 4"

APPROACH_LABELS = {"envelope": "Approach 1", "isoflop": "Approach 2", "parametric": "Approach 3"}
"""The paper's approach each of our estimators corresponds to."""


@dataclass(frozen=True)
class EpochFits:
    """The Epoch runs and the three fits on them.

    Attributes:
        runs: one row per run: ``N`` (parameters), ``D`` (tokens), ``C`` (FLOP), ``loss``
            (nats/token), ``budget`` (FLOP of the IsoFLOP slice the run belongs to, NaN if none).
        parametric: Approach 3; isoflop: Approach 2; envelope: Approach 1 analogue.
        replication: the replication's likelihood refitted (no bootstrap).
        n_bootstrap, seed: the bootstrap settings used.
    """

    runs: pd.DataFrame
    parametric: ParametricLossResult
    isoflop: ComputeOptimalResult
    envelope: ComputeOptimalResult
    replication: HuberLikelihoodResult
    n_bootstrap: int
    seed: int

    def results(self) -> dict[str, ParametricLossResult | ComputeOptimalResult]:
        """The three results keyed ``envelope``, ``isoflop``, ``parametric``."""
        return {"envelope": self.envelope, "isoflop": self.isoflop, "parametric": self.parametric}

    @property
    def used(self) -> np.ndarray:
        """Boolean mask, shape ``(len(runs),)``: the runs the fits use (all but the highest losses)."""
        rank = self.runs["loss"].rank(method="first", ascending=False).to_numpy()
        return rank > EXCLUDE_TOP_LOSS

    @property
    def n_runs(self) -> int:
        return len(self.runs)

    @property
    def n_used(self) -> int:
        return int(self.used.sum())


def isoflop_tolerance_dex() -> float:
    """How far (decades of FLOP) a run may lie from its IsoFLOP budget: the estimator's default."""
    return float(IsoFLOPFit().tolerance_dex)


@functools.cache
def epoch_fits(n_bootstrap: int = BOOK_BOOTSTRAP, seed: int = SEED) -> EpochFits:
    """Fit the Epoch runs with all three approaches (cached per process and settings)."""
    frame = load_chinchilla_runs()[["N", "D", "C", "loss"]].reset_index(drop=True)
    runs = TrainingRuns.from_frame(frame, n_col="N", d_col="D", c_col=None, loss_col="loss")
    parametric = ParametricLossFit(
        huber_delta=HUBER_DELTA, exclude_top_loss=EXCLUDE_TOP_LOSS, n_bootstrap=n_bootstrap, seed=seed
    ).fit(runs)
    isoflop = IsoFLOPFit(
        min_runs=ISOFLOP_MIN_RUNS, exclude_top_loss=EXCLUDE_TOP_LOSS, n_bootstrap=n_bootstrap, seed=seed
    ).fit(runs)
    envelope = EnvelopeFit(n_bootstrap=n_bootstrap, seed=seed).fit(runs)
    replication = HuberLikelihoodFit(huber_delta=HUBER_DELTA, exclude_top_loss=EXCLUDE_TOP_LOSS).fit(runs)
    budgets = isoflop.budgets.loc[isoflop.budgets["included"], "C"].to_numpy(dtype=float)
    labels = assign_to_budgets(frame["C"].to_numpy(), budgets, isoflop_tolerance_dex())
    frame["budget"] = np.where(labels >= 0, budgets[np.maximum(labels, 0)], np.nan)
    return EpochFits(frame, parametric, isoflop, envelope, replication, n_bootstrap, seed)


def notable_models() -> pd.DataFrame:
    """Chinchilla, Gopher, GPT-3 and MT-NLG: ``model_id``, ``name``, ``N`` (parameters), ``D``
    (tokens), ``C = 6 N D`` (FLOP), ``source`` (author-year text), ``source_key``, ``source_detail``,
    ``value_kind``; one row per model,
    ordered by budget."""
    table = load_table("compute_optimal_models")
    names = load_table("models").set_index("model_id")["name"]
    frame = pd.DataFrame({
        "model_id": table["model_id"],
        "name": table["model_id"].map(names),
        "N": table["parameters"].astype(float),
        "D": table["training_tokens"].astype(float),
        "source": [source_text(key, detail) for key, detail in zip(table["source"], table["source_detail"], strict=True)],
        "source_key": table["source"],
        "source_detail": table["source_detail"],
        "value_kind": table["value_kind"],
    })
    frame["C"] = training_flop(frame["N"], frame["D"])
    return frame.sort_values("C").reset_index(drop=True)


def notable_model(model_id: str) -> pd.Series:
    """One row of :func:`notable_models` by id (``chinchilla``, ``gopher``, ``gpt-3``, ``mt-nlg-530b``)."""
    models = notable_models()
    match = models[models["model_id"] == model_id]
    if match.empty:
        raise KeyError(f"no model {model_id!r} in compute_optimal_models.csv")
    return match.iloc[0]
