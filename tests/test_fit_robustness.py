"""Degenerate and inconsistent input: pure noise, unidentified terms, non-finite output, C against 6ND,
unusable budgets with bootstrap, and numpy warnings that must not leak."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datasets import (
    epoch_runs_frame,
    epoch_runs_path,
    heldout_frame,
    pure_noise_runs,
    synthetic_grid_runs,
    synthetic_isoflop_runs,
)

from analysis.cli import main
from analysis.errors import AtlasError
from analysis.fit import EnvelopeFit, IsoFLOPFit, ParametricLossFit, TrainingRuns

LAW = {"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.30}
# Seeds of pure_noise_runs whose unconstrained optimum had a negative exponent (1), an overflowing
# A with alpha = 142 (16), and a "converged" fit with A = 4e7, B = 9e-14 reached by 1 start of 8 (28).
NOISE_SEEDS = (1, 16, 28)


def run_atlas(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True, timeout=120)


def fit_quietly(estimator: ParametricLossFit, runs: TrainingRuns):
    """Fit, returning the result and every warning raised that is not one of the result's own."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = estimator.fit(runs)
        result.summary()
        result.to_dict()
    foreign = [str(w.message) for w in caught if str(w.message) not in result.warnings]
    return result, foreign


@pytest.mark.parametrize("seed", NOISE_SEEDS)
def test_pure_noise_gives_a_flagged_finite_result_not_a_crash(seed: int) -> None:
    runs = TrainingRuns.from_frame(pure_noise_runs(seed))
    result, foreign = fit_quietly(ParametricLossFit(), runs)
    assert foreign == []  # no numpy RuntimeWarning leaks out of the fit or its output
    params = result.params
    assert params["alpha"] >= 0 and params["beta"] >= 0
    assert all(math.isfinite(v) for v in params.values()), params
    # No scaling in the data: the result must say so, not look like a clean fit.
    assert result.warnings, params
    assert "WARNING" in result.summary()
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["warnings"] == list(result.warnings)


def test_an_exponent_on_the_bound_makes_derived_quantities_undefined_not_an_error() -> None:
    fitted = ParametricLossFit().fit(TrainingRuns.from_frame(synthetic_grid_runs(LAW, 0.0, seed=0, n_sizes=5, n_tokens=4)))
    for beta in (0.0, -0.15):
        broken = dataclasses.replace(fitted, params=fitted.params | {"beta": beta})
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert math.isnan(broken.G)
            assert math.isnan(broken.exponents["a"]) and math.isnan(broken.exponents["b"])
            assert np.isnan(broken.n_opt(1e21)) and np.isnan(broken.d_opt(1e21))
            assert np.isnan(broken.compute_for_loss(3.0))
            payload = json.loads(json.dumps(broken.to_dict(), allow_nan=False))
            text = broken.summary()
        assert payload["G"] is None and payload["exponents"] == {"a": None, "b": None}
        assert "G" in text


def test_json_output_maps_non_finite_numbers_to_null() -> None:
    fitted = ParametricLossFit(n_bootstrap=20).fit(
        TrainingRuns.from_frame(synthetic_grid_runs(LAW, 0.01, seed=0, n_sizes=5, n_tokens=4))
    )
    unbounded = dataclasses.replace(fitted, ci=fitted.ci | {"A": (1.0, math.inf), "G": (math.nan, math.nan)})
    payload = json.loads(json.dumps(unbounded.to_dict(), allow_nan=False))
    assert payload["ci"]["A"] == [1.0, None] and payload["ci"]["G"] == [None, None]
    iso = IsoFLOPFit(n_bootstrap=20).fit(TrainingRuns.from_frame(synthetic_isoflop_runs(LAW, (1e18, 1e19, 1e20), 0.005, 0)))
    unbounded_iso = dataclasses.replace(iso, ci=iso.ci | {"a": (-math.inf, 0.5)})
    assert json.loads(json.dumps(unbounded_iso.to_dict(), allow_nan=False))["ci"]["a"] == [None, 0.5]


@pytest.mark.parametrize("extra", [[], ["--json"], ["--json", "--bootstrap", "40"]])
def test_cli_on_pure_noise_prints_a_flagged_result(tmp_path: Path, extra: list[str]) -> None:
    path = tmp_path / "noise.csv"
    pure_noise_runs(16).to_csv(path, index=False)
    done = run_atlas("fit", "parametric", str(path), *extra)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "RuntimeWarning" not in done.stderr, done.stderr
    assert "atlas: warning:" in done.stderr
    if "--json" in extra:
        payload = json.loads(done.stdout)
        assert payload["warnings"] and payload["params"]["alpha"] is not None
    else:
        assert "WARNING" in done.stdout


def test_no_pure_noise_fit_passes_as_clean() -> None:
    for seed in range(40):
        result, foreign = fit_quietly(ParametricLossFit(), TrainingRuns.from_frame(pure_noise_runs(seed)))
        assert foreign == [] and any("constant loss" in w for w in result.warnings), (seed, result.params)


def test_degenerate_fit_reached_by_one_start_is_not_reported_as_clean() -> None:
    result, _ = fit_quietly(ParametricLossFit(), TrainingRuns.from_frame(pure_noise_runs(28)))
    assert result.n_best_basin < result.n_starts / 2
    assert any("starts" in w for w in result.warnings), result.warnings
    assert any("not identified" in w for w in result.warnings), result.warnings


@pytest.mark.parametrize("frame", [
    lambda: synthetic_grid_runs(LAW, 0.02, seed=0, n_sizes=6, n_tokens=5),
    lambda: synthetic_isoflop_runs(LAW, (1e18, 1e19, 1e20), 0.005, seed=1),
    lambda: heldout_frame("li2025_c4_final.csv"),
    lambda: heldout_frame("porian2024_isoflop_refinedweb.csv"),
])
def test_real_and_well_posed_data_raise_no_identification_warning(frame) -> None:
    result, foreign = fit_quietly(ParametricLossFit(), TrainingRuns.from_frame(frame(), d_col="D", c_col="C"))
    assert result.converged and result.warnings == () and foreign == []
    assert result.n_best_basin == result.n_starts


def test_epoch_fit_is_clean_and_every_start_agrees() -> None:
    runs = TrainingRuns.from_frame(epoch_runs_frame(), d_col="D", c_col="C")
    result, foreign = fit_quietly(ParametricLossFit(exclude_top_loss=5), runs)
    assert result.warnings == () and foreign == [] and result.n_best_basin == result.n_starts == 8
    expected = {"alpha": 0.3473, "beta": 0.3672, "E": 1.817, "A": 477.8, "B": 2143}
    assert result.params == pytest.approx(expected, rel=5e-4)


# ---------------------------------------------------------------- C against 6 N D


def test_flop_column_disagreeing_with_6nd_is_a_one_line_error() -> None:
    frame = pd.DataFrame({"N": [1e8, 2e8, 4e8], "D": [1e9, 1e9, 1e9], "C": [6e17, 1e30, 2.4e18], "loss": [3.0, 2.9, 2.8]})
    with pytest.raises(AtlasError) as error:
        TrainingRuns.from_frame(frame, d_col="D", c_col="C", source="runs.csv")
    message = str(error.value)
    assert message.startswith("runs.csv:3: ") and "'C'" in message and "'D'" in message and "10%" in message
    assert "\n" not in message
    # Within the documented 10% tolerance (e.g. rounded FLOP counts) is accepted.
    frame.loc[1, "C"] = 1.2e18 * 1.09
    assert len(TrainingRuns.from_frame(frame, d_col="D", c_col="C")) == 3


def test_heldout_and_epoch_tables_agree_with_6nd() -> None:
    for frame in (heldout_frame("li2025_c4_final.csv"), heldout_frame("porian2024_isoflop_refinedweb.csv"),
                  epoch_runs_frame()):
        runs = TrainingRuns.from_frame(frame, d_col="D", c_col="C")
        np.testing.assert_allclose(runs.C, 6 * runs.N * runs.D, rtol=1e-9)


def test_cli_wrong_tokens_column_is_caught_by_the_6nd_check(capsys: pytest.CaptureFixture[str]) -> None:
    path = epoch_runs_path()
    # The sizes as tokens: raw counts, so only C = 6 N D shows the mistake.
    status = main(["fit", "parametric", str(path), "--n-col", "Model Size", "--c-col", "Training FLOP",
                   "--d-col", "Model Size"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1
    assert str(path) in err[0] and ":2: " in err[0] and "'Training FLOP'" in err[0] and "6 N D" in err[0]


# ---------------------------------------------------------------- unusable budgets with bootstrap


@pytest.mark.parametrize(("kind", "extra"), [("isoflop", []), ("envelope", ["--budgets", "1e18,1e19"])])
@pytest.mark.parametrize("bootstrap", ["0", "50"])
def test_no_usable_budget_is_the_same_one_line_error_with_or_without_bootstrap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, extra: list[str], bootstrap: str
) -> None:
    # IsoFLOP: 3 runs per budget (a parabola needs 4); envelope: 2 runs per range (needs 3).
    per_budget = 3 if kind == "isoflop" else 2
    frame = synthetic_isoflop_runs(LAW, (1e18, 1e19), noise=0.0, seed=0, sizes_per_budget=per_budget)
    path = tmp_path / "few.csv"
    frame.to_csv(path, index=False)
    assert main(["fit", kind, str(path), "--bootstrap", bootstrap, *extra]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fewer than two usable FLOP budgets" in err[0] and str(path) in err[0]


def test_library_checks_budgets_before_bootstrapping() -> None:
    runs = TrainingRuns.from_frame(synthetic_isoflop_runs(LAW, (1e18, 1e19), 0.0, 0, sizes_per_budget=3))
    with pytest.raises(AtlasError, match="fewer than two usable") as error:
        IsoFLOPFit(n_bootstrap=20).fit(runs)
    table = error.value.budgets
    assert list(table["n_runs"]) == [3, 3] and not table["included"].any()
    assert all(reason.startswith("only 3 runs") for reason in table["reason"])
    with pytest.raises(AtlasError, match="fewer than two usable"):
        EnvelopeFit(budgets=(1e18, 1e19), min_runs=4, n_bootstrap=20).fit(runs)


# ---------------------------------------------------------------- runs that determine no allocation


@pytest.fixture(scope="module")
def epoch_frame() -> pd.DataFrame:
    return epoch_runs_frame()[["N", "D", "C", "loss"]]


def test_constant_loss_is_declined_by_the_profile_fits_and_flagged_by_the_parametric_fit(epoch_frame) -> None:
    runs = TrainingRuns.from_frame(epoch_frame.assign(loss=3.0), d_col="D", c_col="C")
    for estimator in (IsoFLOPFit(), IsoFLOPFit(method="interpolation"), EnvelopeFit()):
        with pytest.raises(AtlasError, match="the loss does not change with model size"):
            estimator.fit(runs)
    result, _ = fit_quietly(ParametricLossFit(), runs)
    assert any("barely better than a constant loss" in w for w in result.warnings)


def test_runs_of_one_size_are_declined_by_the_profile_fits(epoch_frame) -> None:
    runs = TrainingRuns.from_frame(epoch_frame.assign(N=1e9, D=lambda f: f["C"] / 6e9), d_col="D", c_col="C")
    with pytest.raises(AtlasError, match="a single model size: no size to compare it with"):
        EnvelopeFit().fit(runs)
    with pytest.raises(AtlasError, match="fewer than 3 distinct model sizes"):
        IsoFLOPFit().fit(runs)
    result, _ = fit_quietly(ParametricLossFit(), runs)
    assert any("A / N^alpha term changes the predicted loss by less than" in w for w in result.warnings)


def test_copies_of_two_runs_are_no_envelope() -> None:
    runs = TrainingRuns.from_arrays(N=[1e8] * 3 + [2e8] * 3, C=[1e18] * 3 + [1e19] * 3, loss=[3.0] * 3 + [2.8] * 3)
    with pytest.raises(AtlasError, match="a single model size"):
        EnvelopeFit().fit(runs)
    with pytest.raises(AtlasError, match="got 2 among 6 rows"):
        ParametricLossFit().fit(runs)


def test_budget_detection_refuses_non_finite_compute_instead_of_looping() -> None:
    from analysis.fit import detect_budgets

    with pytest.raises(ValueError, match="finite positive"):
        detect_budgets(np.array([1e18, 1e18, 1e18, np.inf, 0.0]))
    with pytest.raises(AtlasError, match="6 N D overflows"):
        TrainingRuns.from_arrays(N=[1e300, 2e8], D=[1e300, 1e9], loss=[3.0, 2.9])
