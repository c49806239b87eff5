"""Chapter 3's effective size: reported only when the trend's slope is clearly positive, and the
profile that explains why it is not determined on the figure's data."""

from __future__ import annotations

import altair as alt
import numpy as np
import pytest
from scipy.stats import linregress

import analysis.charts  # noqa: F401
from analysis.chapters.benchmarks import (
    NOT_DETERMINED,
    BenchmarksChapter,
    benchmarks_chapter,
    effective_size_identified,
    effective_sizes,
)
from analysis.chapters.common import fixed
from analysis.chapters.preface import key_findings
from analysis.charts import benchmarks
from analysis.fit import LogLinearTrend
from analysis.text import number


@pytest.fixture(scope="module")
def ch3() -> BenchmarksChapter:
    return benchmarks_chapter()


def test_not_identified_where_the_classical_test_finds_no_rising_trend(ch3) -> None:
    # Independent of the bootstrap: the textbook t test of the OLS slope (scipy) does not reject a
    # flat trend at 5% on the figure's data, and the chapter reports no effective size.
    classical = linregress(np.log10(ch3.points["parameters"]), ch3.points["score"])
    assert classical.slope == pytest.approx(ch3.trend.slope, rel=1e-9)
    assert classical.pvalue > 0.05
    assert not ch3.effective_identified
    # A clearly rising trend (p far below 5%) is identified.
    rng = np.random.default_rng(0)
    size = 10 ** rng.uniform(9, 11, 30)
    score = 20 + 8 * np.log10(size / 1e9) + rng.normal(0, 1, 30)
    assert linregress(np.log10(size), score).pvalue < 1e-6
    assert effective_size_identified(LogLinearTrend(n_bootstrap=400, seed=0).fit(size, score))


def test_undetermined_sizes_are_reported_as_such(ch3) -> None:
    points = ch3.points
    assert points[["effective_parameters", "effective_lower", "effective_upper"]].isna().all().all()
    assert set(points["effective_text"]) == {NOT_DETERMINED}
    statement = ch3.effective_size_statement("memory3-2b-sft")
    low, high = ch3.trend.ci["slope"]
    assert "not determined" in statement
    assert f"{fixed(low)} to {fixed(high)} points per tenfold" in statement
    share = np.mean(ch3.trend.samples[:, 1] <= 0)
    assert f"{share:.0%} of the bootstrap resamples" in statement


def test_key_finding_prints_no_unbounded_interval(ch3) -> None:
    finding = key_findings().set_index("chapter").loc["3", "finding"]
    assert "not determined" in finding
    assert "e-" not in finding and "e+" not in finding  # no 1.93e-25-style interval ends
    assert number(ch3.trend.r_squared, 1) in finding
    assert ch3.slope_statement in finding  # estimate and interval to the same decimals


def test_identified_trend_gives_bounded_intervals_around_the_inverse() -> None:
    rng = np.random.default_rng(3)
    size = 10 ** rng.uniform(9, 11, 40)
    score = 20 + 10 * np.log10(size / 1e9) + rng.normal(0, 1, 40)
    trend = LogLinearTrend(n_bootstrap=400, seed=0).fit(size, score)
    assert effective_size_identified(trend)
    frame = effective_sizes(trend, np.array([25.0, 35.0]))
    expected = 10 ** ((np.array([25.0, 35.0]) - trend.intercept) / trend.slope)
    np.testing.assert_allclose(frame["effective_parameters"], expected)
    assert (frame["effective_lower"] < frame["effective_parameters"]).all()
    assert (frame["effective_parameters"] < frame["effective_upper"]).all()
    assert (frame["effective_upper"] / frame["effective_lower"] < 10).all()  # a tight trend pins it down
    assert NOT_DETERMINED not in set(frame["effective_text"])


def test_profile_is_the_inverse_of_the_best_line_with_each_slope(ch3) -> None:
    points = ch3.points
    u, y = np.log10(points["parameters"].to_numpy()), points["score"].to_numpy()
    memory = points.set_index("model_id").loc["memory3-2b-sft"]
    for slope in (0.5, ch3.trend.slope, 9.0):
        intercept = np.mean(y - slope * u)  # least squares with the slope held fixed
        expected = 10 ** ((memory["score"] - intercept) / slope)
        got = ch3.effective_size_at_slope("memory3-2b-sft", np.array([slope]))[0]
        assert got == pytest.approx(expected, rel=1e-9)
    # At the fitted slope the profile is the trend's own inverse.
    at_fit = ch3.effective_size_at_slope("memory3-2b-sft", np.array([ch3.trend.slope]))[0]
    assert at_fit == pytest.approx(float(ch3.trend.inverse(memory["score"])), rel=1e-9)


def test_steepest_slope_gives_the_smallest_size_in_the_interval(ch3) -> None:
    low, high = ch3.trend.ci["slope"]
    slopes = np.linspace(max(low, 1e-3), high, 50)
    sizes = ch3.effective_size_at_slope("memory3-2b-sft", slopes)
    assert np.all(np.diff(sizes) < 0)
    assert ch3.steepest_slope_size("memory3-2b-sft") == pytest.approx(sizes[-1])


def test_precision_needed_is_what_more_models_of_the_same_kind_would_give(ch3) -> None:
    # The chapter says "about `models` times as many models" would lift the slope's interval to zero:
    # the same points repeated that many times give a bootstrap interval whose lower end is near zero.
    factor, models = ch3.precision_needed
    repeats = int(round(models))
    x = np.tile(ch3.points["parameters"].to_numpy(), repeats)
    y = np.tile(ch3.points["score"].to_numpy(), repeats)
    low, high = LogLinearTrend(n_bootstrap=600, seed=1).fit(x, y).ci["slope"]
    # The 1/sqrt(n) rule is approximate for a percentile bootstrap of a few points: the lower end lands
    # within a quarter of the slope from zero, where the original interval reached far below it.
    assert abs(low) < 0.25 * ch3.trend.slope < abs(ch3.slope_interval[0])
    assert factor > 1 and low < ch3.trend.slope < high
    # the printed factor (two decimals), squared, gives the printed count of models (whole)
    assert round(round(factor, 2) ** 2) == round(models)


def test_profile_slopes_and_chart(ch3) -> None:
    slopes = ch3.profile_slopes("memory3-2b-sft")
    low, high = ch3.trend.ci["slope"]
    sizes = ch3.effective_size_at_slope("memory3-2b-sft", slopes)
    assert (slopes > 0).all() and np.all(np.diff(slopes) > 0) and slopes.max() > high
    assert sizes.max() == pytest.approx(1e15)
    with pytest.raises(ValueError):
        ch3.profile_slopes("gemma-2b-it")  # below the mean score: no lower bound to draw
    memory = ch3.points.set_index("model_id").loc["memory3-2b-sft"]
    chart = benchmarks.effective_size_by_slope(slopes, sizes, memory["name"], memory["parameters"], ch3.trend.slope,
                                               (low, high), actual_source="Table 16")
    assert isinstance(chart, alt.LayerChart)
    spec = chart.to_dict(validate=True)
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["rect", "text", "line", "rule", "rule", "text"]
    for layer in spec["layer"]:
        assert "tooltip" in layer["encoding"]
    assert "without bound" in spec["description"] and memory["name"] in spec["description"]
    drawn = [row for rows in spec["datasets"].values() for row in rows if "effective_parameters" in row]
    np.testing.assert_allclose([row["effective_parameters"] for row in drawn], sizes)
    assert any(row.get("what") == "actual size (Table 16)" for rows in spec["datasets"].values() for row in rows)
