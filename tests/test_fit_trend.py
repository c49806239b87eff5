"""LogLinearTrend, PowerLawTrend and pareto_frontier on real-world tables from vega_datasets."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from vega_datasets import data

from analysis.errors import AtlasError
from analysis.fit import LogLinearTrend, PowerLawTrend, pareto_frontier


@pytest.fixture(scope="module")
def cars():
    with warnings.catch_warnings():  # vega_datasets calls a pandas option deprecated upstream
        warnings.simplefilter("ignore")
        frame = data.cars()
    frame = frame.dropna(subset=["Horsepower", "Miles_per_Gallon", "Weight_in_lbs"])
    return frame.reset_index(drop=True)


def test_log_linear_fit_matches_scipy_linregress(cars) -> None:
    x, y = cars["Horsepower"].to_numpy(float), cars["Miles_per_Gallon"].to_numpy(float)
    result = LogLinearTrend(n_bootstrap=1000, seed=0).fit(x, y)
    reference = stats.linregress(np.log10(x), y)
    assert result.slope == pytest.approx(reference.slope, rel=1e-10)
    assert result.intercept == pytest.approx(reference.intercept, rel=1e-10)
    assert result.r_squared == pytest.approx(reference.rvalue**2, rel=1e-10)
    # The pairs-bootstrap interval of the slope is about as wide as the normal-theory one
    # (a little wider is expected: the residuals are heteroscedastic).
    lo, hi = result.ci["slope"]
    normal_width = 2 * 1.96 * reference.stderr
    assert lo < result.slope < hi
    assert 0.7 < (hi - lo) / normal_width < 2.0


def test_power_law_fit_matches_numpy_polyfit_in_log_space(cars) -> None:
    x, y = cars["Weight_in_lbs"].to_numpy(float), cars["Horsepower"].to_numpy(float)
    result = PowerLawTrend(n_bootstrap=500, seed=1).fit(x, y)
    slope, intercept = np.polyfit(np.log10(x), np.log10(y), 1)
    assert result.params["exponent"] == pytest.approx(slope, rel=1e-10)
    assert result.params["coefficient"] == pytest.approx(10**intercept, rel=1e-10)
    np.testing.assert_allclose(result.predict(x), 10**intercept * x**slope, rtol=1e-10)
    np.testing.assert_allclose(result.residuals(x, y), np.log10(y) - (intercept + slope * np.log10(x)), atol=1e-12)


def test_residuals_inverse_and_bands_are_consistent(cars) -> None:
    x, y = cars["Horsepower"].to_numpy(float), cars["Miles_per_Gallon"].to_numpy(float)
    result = LogLinearTrend(n_bootstrap=800, seed=2).fit(x, y)
    np.testing.assert_allclose(result.residuals(x, y), y - result.predict(x))
    assert abs(result.residuals(x, y).mean()) < 1e-10  # least squares with an intercept
    grid = np.array([60.0, 100.0, 200.0])
    np.testing.assert_allclose(result.inverse(result.predict(grid)), grid, rtol=1e-10)
    lo, hi = result.interval(grid)
    assert np.all(lo < result.predict(grid)) and np.all(result.predict(grid) < hi)
    # The band is narrowest near the data's centre (in log10 x).
    centre = 10 ** np.log10(x).mean()
    widths = np.subtract(*reversed(result.interval(np.array([centre, 400.0]))))
    assert widths[0] < widths[1]
    # Effective size: the horsepower at which the trend reaches 20 mpg, with its band.
    effective = result.inverse(20.0)
    inv_lo, inv_hi = result.inverse_interval(np.array([20.0]))
    assert inv_lo[0] < effective < inv_hi[0]


def test_bands_are_reproducible_for_a_seed(cars) -> None:
    x, y = cars["Horsepower"].to_numpy(float), cars["Miles_per_Gallon"].to_numpy(float)
    first = LogLinearTrend(n_bootstrap=300, seed=5).fit(x, y)
    again = LogLinearTrend(n_bootstrap=300, seed=5).fit(x, y)
    assert first.ci == again.ci
    assert LogLinearTrend(n_bootstrap=0).fit(x, y).ci == {}


def test_bad_trend_input_is_a_clear_error() -> None:
    with pytest.raises(AtlasError, match="point 1: x"):
        LogLinearTrend().fit([1.0, -2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(AtlasError, match="point 0: y"):
        PowerLawTrend().fit([1.0, 2.0, 3.0], [0.0, 2.0, 3.0])
    with pytest.raises(AtlasError, match="differ in length"):
        LogLinearTrend().fit([1.0, 2.0], [1.0])


def _brute_force_frontier(cost: np.ndarray, score: np.ndarray) -> np.ndarray:
    dominated = np.zeros(cost.size, dtype=bool)
    for i in range(cost.size):
        for j in range(cost.size):
            if cost[j] <= cost[i] and score[j] >= score[i] and (cost[j] < cost[i] or score[j] > score[i]):
                dominated[i] = True
                break
    return ~dominated


def test_pareto_frontier_matches_brute_force_on_cars(cars) -> None:
    cost, score = cars["Weight_in_lbs"].to_numpy(float), cars["Miles_per_Gallon"].to_numpy(float)
    mask = pareto_frontier(cost, score)
    np.testing.assert_array_equal(mask, _brute_force_frontier(cost, score))
    assert 1 <= mask.sum() < cost.size


@settings(max_examples=60, deadline=None, derandomize=True)
@given(points=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=30))
def test_pareto_frontier_matches_brute_force_with_ties(points: list[tuple[int, int]]) -> None:
    cost = np.array([p[0] for p in points], float)
    score = np.array([p[1] for p in points], float)
    np.testing.assert_array_equal(pareto_frontier(cost, score), _brute_force_frontier(cost, score))


def test_the_one_solver_matches_numpy_lstsq_row_by_row() -> None:
    from analysis.fit.laws import weighted_least_squares

    rng = np.random.default_rng(5)
    design = np.stack([np.ones(30), rng.normal(size=30), 2015 + rng.uniform(0, 8, 30)], axis=1)
    y = rng.normal(size=(40, 30))
    weights = rng.integers(0, 3, size=(40, 30)).astype(float)
    expected = np.array([np.linalg.lstsq(design * np.sqrt(w)[:, None], v * np.sqrt(w), rcond=None)[0]
                         for w, v in zip(weights, y, strict=True)])
    np.testing.assert_allclose(weighted_least_squares(design, y, weights), expected, rtol=1e-9, atol=1e-9)
    one_point = np.zeros(30)
    one_point[3] = 2.0
    assert np.isnan(weighted_least_squares(design[:, :2], y[0], one_point)).all()  # rank 1 of 2: NaN
