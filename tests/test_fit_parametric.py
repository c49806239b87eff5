"""ParametricLossFit: the Epoch replication, an independent optimiser, recovery and properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from datasets import (
    BESIROGLU_2024,
    BESIROGLU_2024_SE,
    HOFFMANN_2022,
    epoch_runs_frame,
    heldout_frame,
    law_loss,
    synthetic_grid_runs,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import huber, logsumexp

from analysis.errors import AtlasError
from analysis.fit import ParametricLossFit, TrainingRuns, huber_objective
from analysis.fit.bootstrap import chunked_counts
from analysis.fit.newton import huber_terms

TRUTH = {"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.30}


@pytest.fixture(scope="module")
def epoch_runs() -> TrainingRuns:
    return TrainingRuns.from_frame(epoch_runs_frame(), d_col="D", c_col="C")


@pytest.fixture(scope="module")
def epoch_fit(epoch_runs: TrainingRuns):
    return ParametricLossFit(exclude_top_loss=5, n_bootstrap=600, seed=0).fit(epoch_runs)


def test_epoch_runs_reproduce_the_published_replication(epoch_fit) -> None:
    params = epoch_fit.params
    assert epoch_fit.n_points == 240 and epoch_fit.converged
    for name in ("alpha", "beta", "E"):
        assert params[name] == pytest.approx(BESIROGLU_2024[name], rel=0.01), name
    for name in ("A", "B"):
        assert params[name] == pytest.approx(BESIROGLU_2024[name], rel=0.05), name
    assert epoch_fit.n_best_basin >= 2


def _scipy_objective(x: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray) -> float:
    """The published objective written independently: mean scipy Huber of logsumexp residuals."""
    a, b, e, alpha, beta = x
    pred = logsumexp(np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)]), axis=0)
    return float(np.mean(huber(1e-3, pred - log_loss)))


def test_no_better_optimum_found_by_an_independent_optimiser(epoch_runs: TrainingRuns, epoch_fit) -> None:
    used = epoch_runs.exclude_top_loss(5)
    args = (np.log(used.N), np.log(used.D), np.log(used.loss))
    ours = epoch_fit.params
    x_ours = np.array([math.log(ours["A"]), math.log(ours["B"]), math.log(ours["E"]), ours["alpha"], ours["beta"]])
    assert _scipy_objective(x_ours, *args) == pytest.approx(epoch_fit.objective, rel=1e-9)
    for start in ([math.log(BESIROGLU_2024["A"]), math.log(BESIROGLU_2024["B"]), math.log(1.82), 0.35, 0.37],
                  [5.0, 5.0, 0.5, 0.5, 0.5], [10.0, 10.0, 0.0, 1.0, 1.0], x_ours):
        found = minimize(_scipy_objective, np.array(start, float), args=args, method="L-BFGS-B")
        assert found.fun >= epoch_fit.objective * (1 - 1e-9)


def test_published_hoffmann_parameters_fit_these_data_worse(epoch_runs: TrainingRuns, epoch_fit) -> None:
    used = epoch_runs.exclude_top_loss(5)
    hoffmann = huber_objective(HOFFMANN_2022, used)
    besiroglu = huber_objective(BESIROGLU_2024, used)
    assert hoffmann > 2 * epoch_fit.objective
    assert besiroglu >= epoch_fit.objective


def test_bootstrap_spread_matches_published_standard_errors(epoch_fit) -> None:
    se = epoch_fit.standard_errors()
    for name, published in BESIROGLU_2024_SE.items():
        assert 0.5 * published <= se[name] <= 2.0 * published, (name, se[name], published)
        lo, hi = epoch_fit.ci[name]
        assert lo < epoch_fit.params[name] < hi
    assert epoch_fit.n_bootstrap_failed == 0


def test_derived_quantities_agree_with_brute_force_minimisation(epoch_fit) -> None:
    p = epoch_fit.params
    optima = {}
    for C in (1e20, 5.76e23):
        sizes = np.geomspace(1e6, 1e14, 400_001)
        losses = law_loss(p, sizes, C / (6 * sizes))
        best = optima[C] = sizes[np.argmin(losses)]
        assert epoch_fit.n_opt(C) == pytest.approx(best, rel=1e-3)
        assert epoch_fit.d_opt(C) == pytest.approx(C / (6 * best), rel=1e-3)
        assert epoch_fit.loss_at_budget(C) == pytest.approx(losses.min(), rel=1e-9)
        assert epoch_fit.tokens_per_parameter(C) == pytest.approx(epoch_fit.d_opt(C) / epoch_fit.n_opt(C))
        assert epoch_fit.compute_for_loss(epoch_fit.loss_at_budget(C)) == pytest.approx(C, rel=1e-9)
    assert np.isinf(epoch_fit.compute_for_loss(p["E"] - 0.1))
    # The exponent a is the slope of the brute-force optimum in log-log space.
    slope = np.log(optima[5.76e23] / optima[1e20]) / np.log(5.76e23 / 1e20)
    assert epoch_fit.exponents["a"] == pytest.approx(slope, abs=1e-4)
    assert epoch_fit.exponents["a"] + epoch_fit.exponents["b"] == pytest.approx(1.0)  # C = 6 N D


def test_n_opt_interval_is_a_band_around_the_estimate(epoch_fit) -> None:
    C = np.array([[1e19, 1e21], [1e23, 1e25]])
    lo, hi = epoch_fit.n_opt_interval(C)
    assert lo.shape == hi.shape == C.shape
    assert np.all(lo < epoch_fit.n_opt(C)) and np.all(epoch_fit.n_opt(C) < hi)
    # Extrapolating further from the data widens the band (in decades).
    width = np.log10(hi / lo).ravel()
    assert width[-1] > width[1]


def test_result_dict_is_json_ready_with_the_documented_keys(epoch_fit) -> None:
    import json

    payload = json.loads(json.dumps(epoch_fit.to_dict(), allow_nan=False))
    assert set(payload["params"]) == {"E", "A", "B", "alpha", "beta"}
    assert {"alpha", "beta", "E", "A", "B", "a", "b"} <= set(payload["ci"])
    assert set(payload["exponents"]) == {"a", "b"}
    assert payload["n_points"] == 240 and payload["converged"] is True
    assert payload["objective"] == pytest.approx(epoch_fit.objective)
    assert "alpha" in epoch_fit.summary() and "WARNING" not in epoch_fit.summary()


def test_bootstrap_is_reproducible_for_a_seed(epoch_runs: TrainingRuns) -> None:
    first = ParametricLossFit(exclude_top_loss=5, n_bootstrap=50, seed=7).fit(epoch_runs)
    again = ParametricLossFit(exclude_top_loss=5, n_bootstrap=50, seed=7).fit(epoch_runs)
    other = ParametricLossFit(exclude_top_loss=5, n_bootstrap=50, seed=8).fit(epoch_runs)
    assert first.ci == again.ci
    assert first.ci != other.ci


def test_gradient_and_hessian_match_finite_differences() -> None:
    rng = np.random.default_rng(3)
    df = synthetic_grid_runs(TRUTH, 0.05, seed=3, n_sizes=5, n_tokens=4)
    log_n, log_d, log_loss = np.log(df.N.to_numpy()), np.log(df.D.to_numpy()), np.log(df.loss.to_numpy())
    theta = np.array([[math.log(400), math.log(1500), math.log(1.8), 0.34, 0.30]]) + 0.05 * rng.standard_normal((3, 5))
    weights = rng.uniform(size=(3, log_n.size))
    weights /= weights.sum(axis=1, keepdims=True)
    delta = 0.02  # residuals straddle the threshold, exercising both Huber branches
    _, gradient, hessian = huber_terms(theta, log_n, log_d, log_loss, weights, delta)
    step = 1e-6
    for j in range(5):
        shift = np.zeros(5)
        shift[j] = step
        f_plus, g_plus, _ = huber_terms(theta + shift, log_n, log_d, log_loss, weights, delta)
        f_minus, g_minus, _ = huber_terms(theta - shift, log_n, log_d, log_loss, weights, delta)
        np.testing.assert_allclose(gradient[:, j], (f_plus - f_minus) / (2 * step), rtol=1e-4, atol=1e-9)
        np.testing.assert_allclose(hessian[:, :, j], (g_plus - g_minus) / (2 * step), rtol=1e-3, atol=1e-6)


def test_recovers_known_parameters_with_near_nominal_coverage() -> None:
    replicates, level = 40, 0.9
    truth = TRUTH | {"a": TRUTH["beta"] / (TRUTH["alpha"] + TRUTH["beta"])}
    hits = {name: 0 for name in ("E", "A", "B", "alpha", "beta", "a")}
    estimates = []
    for r in range(replicates):
        runs = TrainingRuns.from_frame(synthetic_grid_runs(TRUTH, 0.01, seed=100 + r, n_sizes=10, n_tokens=8))
        result = ParametricLossFit(n_bootstrap=200, seed=r, level=level).fit(runs)
        estimates.append([result.params[k] for k in ("E", "alpha", "beta")])
        for name in hits:
            lo, hi = result.ci[name]
            hits[name] += lo <= truth[name] <= hi
    coverage = {name: count / replicates for name, count in hits.items()}
    # 40 replicates: a binomial standard error of about 0.05 around the nominal 0.9.
    assert all(0.75 <= c <= 1.0 for c in coverage.values()), coverage
    assert 0.8 <= np.mean(list(coverage.values())) <= 0.98, coverage
    np.testing.assert_allclose(np.median(estimates, axis=0), [TRUTH["E"], TRUTH["alpha"], TRUTH["beta"]], rtol=0.03)


def test_noise_free_data_recover_the_law_exactly() -> None:
    runs = TrainingRuns.from_frame(synthetic_grid_runs(TRUTH, 0.0, seed=0))
    result = ParametricLossFit().fit(runs)
    for name, value in TRUTH.items():
        assert result.params[name] == pytest.approx(value, rel=1e-4), name
    assert result.objective < 1e-12


# Derandomized: the same examples on every run, so CI cannot fail on a draw no one has seen.
_settings = settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
# Some synthetic draws are ill-posed enough for the fit to warn (competing optima, an exponent at a bound);
# these properties are about invariance, which holds with or without the warning.
_warnings_are_not_the_point = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@_warnings_are_not_the_point
@_settings
@given(seed=st.integers(0, 10_000), permutation_seed=st.integers(0, 10_000))
def test_row_order_does_not_matter(seed: int, permutation_seed: int) -> None:
    df = synthetic_grid_runs(TRUTH, 0.02, seed=seed, n_sizes=6, n_tokens=5)
    shuffled = df.sample(frac=1.0, random_state=permutation_seed).reset_index(drop=True)
    a = ParametricLossFit().fit(TrainingRuns.from_frame(df))
    b = ParametricLossFit().fit(TrainingRuns.from_frame(shuffled))
    assert b.objective == pytest.approx(a.objective, rel=1e-8)
    for name in a.params:
        assert b.params[name] == pytest.approx(a.params[name], rel=1e-5), name


@_warnings_are_not_the_point
@_settings
@given(seed=st.integers(0, 10_000))
def test_duplicating_every_run_leaves_the_estimate_unchanged(seed: int) -> None:
    df = synthetic_grid_runs(TRUTH, 0.02, seed=seed, n_sizes=6, n_tokens=5)
    doubled = pd.concat([df, df], ignore_index=True)
    a = ParametricLossFit().fit(TrainingRuns.from_frame(df))
    b = ParametricLossFit().fit(TrainingRuns.from_frame(doubled))
    assert b.n_points == 2 * a.n_points
    assert b.objective == pytest.approx(a.objective, rel=1e-8)
    for name in a.params:
        assert b.params[name] == pytest.approx(a.params[name], rel=1e-5), name


@_warnings_are_not_the_point
@_settings
@given(seed=st.integers(0, 10_000))
def test_tokens_or_compute_give_the_same_fit(seed: int) -> None:
    df = synthetic_grid_runs(TRUTH, 0.02, seed=seed, n_sizes=6, n_tokens=5)
    with_d = ParametricLossFit().fit(TrainingRuns.from_frame(df[["N", "D", "loss"]], d_col="D"))
    with_c = ParametricLossFit().fit(TrainingRuns.from_frame(df[["N", "C", "loss"]], d_col=None, c_col="C"))
    for name in with_d.params:
        assert with_c.params[name] == pytest.approx(with_d.params[name], rel=1e-6), name


def test_non_convergence_is_flagged_not_hidden(epoch_runs: TrainingRuns) -> None:
    with pytest.warns(RuntimeWarning) as caught:
        result = ParametricLossFit(exclude_top_loss=5, max_iter=1).fit(epoch_runs)
    messages = [str(warning.message) for warning in caught]
    assert any("did not converge" in m for m in messages), messages
    assert any("starts reached the best optimum" in m for m in messages), messages  # one step: starts disagree
    assert result.converged is False
    assert result.to_dict()["converged"] is False
    assert "WARNING" in result.summary()


def test_too_few_runs_is_a_clear_error() -> None:
    runs = TrainingRuns.from_arrays(N=[1e8, 2e8, 4e8, 8e8, 1e9, 2e9], D=[1e9] * 6, loss=[3, 2.9, 2.8, 2.7, 2.6, 2.5])
    with pytest.raises(AtlasError, match="after dropping 1"):
        ParametricLossFit(exclude_top_loss=1).fit(runs)


def test_li_2025_heldout_runs_fit_sensibly() -> None:
    df = heldout_frame("li2025_c4_final.csv")
    runs = TrainingRuns.from_frame(df, d_col="D", c_col="C")
    result = ParametricLossFit(n_bootstrap=200, seed=0).fit(runs)
    assert result.converged and result.n_points == 81
    assert result.params["alpha"] > 0 and result.params["beta"] > 0
    assert 0 < result.exponents["a"] < 1 and 0 < result.exponents["b"] < 1
    assert 0 < result.params["E"] < df["loss"].min()
    # The fit describes the runs: median absolute log error below 2%.
    predicted = result.loss(df["N"].to_numpy(), df["D"].to_numpy())
    assert np.median(np.abs(np.log(predicted / df["loss"].to_numpy()))) < 0.02


def test_li_2025_bootstrap_refits_all_converge_whatever_the_iteration_cap() -> None:
    """E is poorly identified on these runs: many resamples have their optimum at E = 0. Every refit must still
    converge (E = 0 is a bound the solver reaches), and the intervals may not depend on the iteration cap."""
    runs = TrainingRuns.from_frame(heldout_frame("li2025_c4_final.csv"), d_col="D", c_col="C")
    capped = ParametricLossFit(n_bootstrap=200, seed=0, max_iter=200).fit(runs)
    generous = ParametricLossFit(n_bootstrap=200, seed=0, max_iter=5000).fit(runs)
    assert capped.n_bootstrap_failed == generous.n_bootstrap_failed == 0
    assert capped.samples.shape == (200, 5) and not capped.warnings
    assert int(np.sum(capped.samples[:, 0] == 0.0)) >= 10  # the resamples whose best E is 0 are kept, at E = 0
    for name, (lo, hi) in generous.ci.items():
        assert capped.ci[name] == pytest.approx((lo, hi), rel=1e-6), name
    # The interval of a the refits agree on once none is dropped (with 200 iterations and no restart, 74
    # refits used to be dropped and the interval read [0.651, 0.860]).
    assert capped.ci["a"] == pytest.approx((0.659, 0.907), abs=1e-3)


def test_bootstrap_refits_match_refits_from_scratch(epoch_runs: TrainingRuns) -> None:
    """Each warm-started refit reaches the optimum an independent optimiser finds from the estimate (to the refits'
    tolerance, a thousandth of a standard error: about 1e-8 of the objective)."""
    used = epoch_runs.exclude_top_loss(5)
    result = ParametricLossFit(n_bootstrap=6, seed=3).fit(epoch_runs.exclude_top_loss(5))
    counts = np.concatenate(list(chunked_counts(3, len(used), 6)))
    args = (np.log(used.N), np.log(used.D), np.log(used.loss))
    start = np.log([result.params["A"], result.params["B"], result.params["E"]]).tolist() + [
        result.params["alpha"], result.params["beta"]]
    for row, weights in enumerate(counts):
        def objective(x: np.ndarray, w: np.ndarray = weights) -> float:
            a, b, e, alpha, beta = x
            pred = logsumexp(np.stack([a - alpha * args[0], b - beta * args[1], np.full_like(args[0], e)]), axis=0)
            return float(np.sum(w * huber(1e-3, pred - args[2])) / w.sum())
        found = minimize(objective, start, method="Nelder-Mead",
                         options={"xatol": 1e-9, "fatol": 1e-16, "maxiter": 40_000, "maxfev": 40_000})
        E, A, B, alpha, beta = result.samples[row]
        ours = objective(np.array([math.log(A), math.log(B), math.log(E), alpha, beta]))
        assert ours <= found.fun * (1 + 1e-8), row
        assert [alpha, beta] == pytest.approx(found.x[3:], abs=1e-4), row


def test_memory_bounds_change_the_work_not_the_result(epoch_runs: TrainingRuns, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sums over runs block by block give the same objective and derivatives; so many runs that a chunk of
    resamples would be small switch to one resample at a time, on threads, with the same intervals (up to the
    Monte Carlo error of 300 resamples)."""
    from analysis.fit import bootstrap, newton

    used = epoch_runs.exclude_top_loss(5)
    args = (np.log(used.N), np.log(used.D), np.log(used.loss))
    theta = np.array([[6.2, 7.7, 0.6, 0.35, 0.37], [5.0, 8.0, 0.5, 0.3, 0.4]])
    whole = huber_terms(theta, *args, np.full(len(used), 1 / len(used)), 1e-3)
    monkeypatch.setattr(newton, "BLOCK_ELEMENTS", 37)
    blocked = huber_terms(theta, *args, np.full(len(used), 1 / len(used)), 1e-3)
    for a, b in zip(whole, blocked, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    chunked = ParametricLossFit(n_bootstrap=300, seed=1).fit(used)
    monkeypatch.setattr(bootstrap, "RESAMPLE_ELEMENTS", 4 * len(used))  # chunks of 4 resamples: one at a time
    one_by_one = ParametricLossFit(n_bootstrap=300, seed=1).fit(used)
    assert one_by_one.n_bootstrap_failed == 0 and one_by_one.samples.shape == (300, 5)
    assert not np.allclose(one_by_one.samples, chunked.samples)  # resamples of their own seeds
    for name in ("alpha", "beta", "a"):
        for ours, theirs in zip(one_by_one.ci[name], chunked.ci[name], strict=True):
            assert ours == pytest.approx(theirs, abs=0.3 * one_by_one.standard_errors()[name]), name
