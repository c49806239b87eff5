"""HuberLikelihoodFit: Besiroglu et al. (2024)'s Table 1 reproduced, its objective checked independently,
recovery of a known law, and the shared result surface."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from datasets import BESIROGLU_2024, epoch_runs_frame
from scipy.optimize import minimize, minimize_scalar
from scipy.special import logsumexp
from scipy.stats import norm

from analysis.fit import HuberLikelihoodFit, ParametricLossResult, TrainingRuns
from analysis.fit.likelihood import negative_log_likelihood

# Decimals Table 1 of Besiroglu et al. (2024) prints: E, A, B to two, alpha and beta to four.
PRINTED_DECIMALS = {"E": 2, "A": 2, "B": 2, "alpha": 4, "beta": 4}
DELTA = 1e-3


@pytest.fixture(scope="module")
def epoch_runs() -> TrainingRuns:
    return TrainingRuns.from_frame(epoch_runs_frame(), d_col="D", c_col="C")


@pytest.fixture(scope="module")
def replication(epoch_runs: TrainingRuns):
    return HuberLikelihoodFit(huber_delta=DELTA, exclude_top_loss=5).fit(epoch_runs)


def independent_nll(x: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray) -> float:
    """The replication's negative log-likelihood written out here: x = (log A, log B, log E, alpha, beta, log s);
    residuals log(loss) - LSE scaled by s follow exp(-huber(r/s)) / (Z s), Z from the normal cdf."""
    a, b, e, alpha, beta, log_s = x
    prediction = logsumexp(np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)]), axis=0)
    scaled = (log_loss - prediction) / math.exp(log_s)
    huber = np.where(np.abs(scaled) <= DELTA, 0.5 * scaled**2, DELTA * (np.abs(scaled) - 0.5 * DELTA))
    normaliser = math.sqrt(2 * math.pi) * (norm.cdf(DELTA) - norm.cdf(-DELTA)) + 2 * math.exp(-DELTA**2 / 2) / DELTA
    return float(np.mean(huber) + log_s + math.log(normaliser))


def _theta(params: dict[str, float]) -> np.ndarray:
    return np.array([math.log(params["A"]), math.log(params["B"]), math.log(params["E"]), params["alpha"], params["beta"]])


def test_reproduces_table_1_of_the_replication(replication) -> None:
    # Table 1 prints the estimates to the decimals above; the replication's own optimiser stopped a hair
    # from the optimum (its estimate has a higher objective than ours, tested below), so the estimates
    # agree to within one unit of the last printed digit, not half of one.
    assert replication.converged and replication.n_points == 240
    for name, decimals in PRINTED_DECIMALS.items():
        assert abs(replication.params[name] - BESIROGLU_2024[name]) <= 10.0**-decimals, name


def test_no_parameter_set_nearby_has_a_higher_likelihood(epoch_runs: TrainingRuns, replication) -> None:
    used = epoch_runs.exclude_top_loss(5)
    data = (np.log(used.N), np.log(used.D), np.log(used.loss))
    ours = np.append(_theta(replication.params), math.log(replication.scale))
    assert independent_nll(ours, *data) == pytest.approx(replication.objective, abs=1e-9)
    assert negative_log_likelihood(replication.params, used) == pytest.approx(replication.objective, abs=1e-9)
    # the printed Table 1 values, with their own best scale, are less likely
    printed = _theta(BESIROGLU_2024)
    best_scale = minimize_scalar(lambda s: independent_nll(np.append(printed, s), *data), bounds=(-20, 0),
                                 method="bounded")
    assert best_scale.fun > replication.objective
    # a general-purpose optimiser started at our estimate finds nothing better than rounding
    polished = minimize(independent_nll, ours, args=data, method="Nelder-Mead",
                        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})
    assert polished.fun >= replication.objective - 1e-7


def test_the_likelihood_is_a_median_regression(epoch_runs: TrainingRuns, replication) -> None:
    # With a free scale the fitted scale is delta * mean |r| and the median residual is zero (module docstring).
    used = epoch_runs.exclude_top_loss(5)
    residuals = np.log(used.loss) - np.log(replication.law.loss(used.N, used.D))
    assert replication.mean_absolute_residual == pytest.approx(np.mean(np.abs(residuals)), rel=1e-9)
    assert replication.scale == pytest.approx(DELTA * np.mean(np.abs(residuals)), rel=1e-4)
    assert abs(np.median(residuals)) < 1e-8


TRUTH = {"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.30}


def synthetic_runs(n: int, seed: int) -> TrainingRuns:
    """Runs of the law TRUTH with heavy-tailed (Laplace) noise of 0.3% on the log loss."""
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(5e7), np.log(2e10), n))
    D = np.exp(rng.uniform(np.log(1e9), np.log(3e11), n))
    clean = TRUTH["E"] + TRUTH["A"] / N ** TRUTH["alpha"] + TRUTH["B"] / D ** TRUTH["beta"]
    return TrainingRuns.from_arrays(N, clean * np.exp(rng.laplace(0, 0.003, n)), D=D)


def test_recovers_a_known_law_under_heavy_tailed_noise() -> None:
    result = HuberLikelihoodFit().fit(synthetic_runs(300, 7))
    for name in ("E", "alpha", "beta"):
        assert result.params[name] == pytest.approx(TRUTH[name], rel=0.05), name
    assert result.exponents["a"] == pytest.approx(TRUTH["beta"] / (TRUTH["alpha"] + TRUTH["beta"]), abs=0.02)


def test_result_surface_and_seeded_bootstrap() -> None:
    runs = synthetic_runs(60, 11)
    fit = HuberLikelihoodFit(n_bootstrap=8, seed=3)
    first, second = fit.fit(runs), fit.fit(runs)
    assert isinstance(first, ParametricLossResult)
    np.testing.assert_array_equal(first.samples, second.samples)
    assert set(first.ci) >= {"E", "A", "B", "alpha", "beta", "a", "b", "G"}
    assert all(low <= high for low, high in first.ci.values())
    payload = json.loads(json.dumps(first.to_dict()))
    assert payload["estimator"] == "huber_likelihood" and payload["params"]["E"] == pytest.approx(first.params["E"])
    assert "likelihood" in first.summary() and "free scale" in first.summary()
    assert first.n_opt(5.76e23) == pytest.approx(first.law.n_opt(5.76e23))
