"""IsoFLOPFit(method="interpolation"), Porian et al. (2024)'s procedure: synthetic profiles with a known optimum,
the ten published settings refitted from the project's own table, the table itself, and the command line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datasets import law_loss, mirror_dir, true_n_opt

from analysis.chapters import porian
from analysis.cli import main
from analysis.data import DATA_DIR, describe_tables
from analysis.errors import AtlasError
from analysis.fit import IsoFLOPFit, TrainingRuns

LAW = {"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.30}
TRUE_A = LAW["beta"] / (LAW["alpha"] + LAW["beta"])
BUDGETS = (1e18, 3e18, 1e19, 3e19, 1e20, 3e20)
SHARED_SHA256 = "a0b73ecf833eef6d837ba3335adbe18f303a691f10058ac89e0c65acce9811a1"
STEP_COLUMNS = {  # (hparams, warmup, decay, param_count, loss_split) of each step in the shared extraction
    1: ("base", "long", "kaplan", "kaplan", "train"), 2: ("base", "long", "kaplan", "standard", "val"),
    3: ("base", "short", "kaplan", "standard", "val"), 4: ("base", "short", "chinchilla", "standard", "val"),
    5: ("tuned", "short", "const", "standard", "val"),
}


def drifting_isoflop_runs(drift_dex: float, noise: float = 0.0, seed: int = 0, span_dex: float = 1.0,
                          sizes_per_budget: int = 13) -> pd.DataFrame:
    """IsoFLOP runs whose sizes are centred ``drift_dex`` below the law's optimum at the smallest budget, moving
    linearly to ``drift_dex`` above it at the largest (as a fixed grid of sizes does), with Gaussian noise of
    ``noise`` nats/token on the loss. Columns ``N`` (parameters), ``C`` (FLOP), ``loss`` (nats/token)."""
    rng = np.random.default_rng(seed)
    frames = []
    for C, shift in zip(BUDGETS, np.linspace(-drift_dex, drift_dex, len(BUDGETS)), strict=True):
        N = true_n_opt(C, LAW)[0] * 10**shift * np.logspace(-span_dex, span_dex, sizes_per_budget)
        loss = law_loss(LAW, N, C / (6 * N)) + noise * rng.standard_normal(N.size)
        frames.append(pd.DataFrame({"N": N, "C": C, "loss": loss}))
    return pd.concat(frames, ignore_index=True)


def runs_of(frame: pd.DataFrame) -> TrainingRuns:
    return TrainingRuns.from_frame(frame, d_col=None, c_col="C")


def test_interpolated_minima_find_the_known_optimum_where_parabolas_are_pulled_off_it() -> None:
    runs = runs_of(drifting_isoflop_runs(drift_dex=0.7))
    interpolated = IsoFLOPFit(method="interpolation").fit(runs)
    parabola = IsoFLOPFit().fit(runs)
    truth = np.log10(true_n_opt(np.array(BUDGETS), LAW))
    assert interpolated.budgets["included"].all()
    # Grid points are 2 / (12 * 25) dex apart; the spline itself adds less than that.
    assert np.abs(np.log10(interpolated.budgets["N_opt"]) - truth).max() < 0.01
    assert interpolated.exponents["a"] == pytest.approx(TRUE_A, abs=0.005)
    # The parabola's vertex moves with how the sizes sit around the optimum, which changes with the budget.
    assert np.abs(np.log10(parabola.budgets["N_opt"]) - truth).max() > 0.05
    assert parabola.exponents["a"] - TRUE_A > 0.02


def test_noise_bootstrap_interval_covers_the_truth_and_weights_the_budgets() -> None:
    runs = runs_of(drifting_isoflop_runs(drift_dex=0.7, noise=0.002, seed=0))
    result = IsoFLOPFit(method="interpolation", n_bootstrap=200, seed=0, loss_noise=0.002).fit(runs)
    lo, hi = result.ci["a"]
    assert lo < TRUE_A < hi and lo < result.exponents["a"] < hi
    assert result.budgets["weight"].sum() == pytest.approx(1.0)
    assert (result.budgets["weight"] > 0).all()
    # With a bootstrap, each budget's optimum is the median of its resampled minima.
    assert np.all(result.budgets["N_opt_lo"] <= result.budgets["N_opt"])
    assert np.all(result.budgets["N_opt"] <= result.budgets["N_opt_hi"])
    assert result.budgets["D_opt"].to_numpy() == pytest.approx(
        result.budgets["C"].to_numpy() / (6 * result.budgets["N_opt"].to_numpy()))
    again = IsoFLOPFit(method="interpolation", n_bootstrap=200, seed=0, loss_noise=0.002).fit(runs)
    assert again.exponents == result.exponents and again.ci == result.ci
    # The same noise bootstrap around one parabola per budget keeps its bias and misses the truth.
    parabola = IsoFLOPFit(n_bootstrap=200, seed=0, loss_noise=0.002).fit(runs)
    assert parabola.ci["a"][0] > TRUE_A


def test_a_minimum_outside_the_sampled_sizes_is_reported_and_left_out() -> None:
    frame = drifting_isoflop_runs(drift_dex=0.0)
    smallest = frame[frame["C"] == BUDGETS[0]]
    below_optimum = smallest[smallest["N"] < true_n_opt(BUDGETS[0], LAW)[0] / 1.5]
    result = IsoFLOPFit(method="interpolation").fit(runs_of(pd.concat([below_optimum, frame[frame["C"] != BUDGETS[0]]])))
    first = result.budgets.iloc[0]
    assert not first["included"] and "edge of the sampled model sizes" in first["reason"]
    assert result.budgets["included"].sum() == len(BUDGETS) - 1
    assert "weight" not in result.budgets.columns


def test_near_duplicate_sizes_count_as_one_size_with_its_best_run() -> None:
    frame = drifting_isoflop_runs(drift_dex=0.0)
    clean = IsoFLOPFit(method="interpolation").fit(runs_of(frame))
    # A second reading of every size, 1e-7 dex off (as runs read off a figure have), with a higher loss.
    jitter = frame.assign(N=frame["N"] * 10**1e-7, loss=frame["loss"] + 0.05)
    doubled = IsoFLOPFit(method="interpolation").fit(runs_of(pd.concat([frame, jitter])))
    np.testing.assert_allclose(doubled.budgets["N_opt"], clean.budgets["N_opt"], rtol=1e-12)
    assert (doubled.budgets["n_runs"] == 2 * clean.budgets["n_runs"]).all()


def test_profile_passes_through_the_best_runs_and_is_undefined_outside_them() -> None:
    frame = drifting_isoflop_runs(drift_dex=0.3)
    result = IsoFLOPFit(method="interpolation").fit(runs_of(frame))
    for C, group in frame.groupby("C"):
        np.testing.assert_allclose(result.profile(C, group["N"].to_numpy()), group["loss"].to_numpy(), rtol=1e-12)
        assert np.isnan(result.profile(C, group["N"].min() / 2))
    row = result.budgets.iloc[2]
    assert result.profile(row["C"], row["N_opt"]) == pytest.approx(row["loss_opt"], rel=1e-12)
    payload = result.to_dict()
    assert payload["profile_method"] == "interpolation" and payload["loss_noise"] is None
    json.dumps(payload, allow_nan=False)


def test_invalid_options_are_clear_errors() -> None:
    runs = runs_of(drifting_isoflop_runs(drift_dex=0.0))
    with pytest.raises(AtlasError, match="give loss_noise"):
        IsoFLOPFit(method="interpolation", n_bootstrap=10).fit(runs)
    with pytest.raises(AtlasError, match="unknown IsoFLOP method 'spline'"):
        IsoFLOPFit(method="spline").fit(runs)
    with pytest.raises(AtlasError, match="loss_noise must be a positive"):
        IsoFLOPFit(loss_noise=0.0, n_bootstrap=10).fit(runs)


@pytest.fixture(scope="module")
def refits() -> pd.DataFrame:
    return porian.refit_all(n_bootstrap=200, seed=0)


def test_the_ten_settings_reproduce_the_published_exponents(refits: pd.DataFrame) -> None:
    assert len(refits) == 10
    assert set(zip(refits["dataset"], refits["step"])) == {(d, s) for d in porian.DATASETS for s in porian.STEPS}
    worst = refits.loc[refits["difference"].abs().idxmax()]
    assert abs(worst["difference"]) < 0.02, worst.to_dict()
    # The published value is a bootstrap estimate of the same procedure: it lies inside our 95% interval.
    inside = (refits["a_lo"] <= refits["published"]) & (refits["published"] <= refits["a_hi"])
    assert inside.all(), refits[~inside].to_dict(orient="records")
    # The staircase: every step lowers the exponent, on both datasets.
    for _, setting in refits.groupby("dataset"):
        assert (np.diff(setting.sort_values("step")["a"]) < 0).all()


def test_a_parabola_through_the_whole_profile_reads_refinedweb_step_5_high() -> None:
    runs = porian.setting_runs(porian.load_runs(), "rw", 5)
    published = porian.published_exponents().set_index(["dataset", "step"]).loc[("rw", 5), "a"]
    parabola = IsoFLOPFit().fit(runs).exponents["a"]
    interpolated = IsoFLOPFit(method="interpolation").fit(runs).exponents["a"]
    assert parabola - published > 0.015
    assert interpolated == pytest.approx(published, abs=0.002)


def test_the_runs_table_and_its_licence() -> None:
    runs = porian.load_runs()
    assert len(runs) == 1160
    assert runs.groupby(["dataset", "step"])["C"].nunique().isin([11, 12]).all()
    assert (runs["value_kind"] == "exact").all() and (runs["source"] == "porian2024resolving").all()
    described = next(t for t in describe_tables() if t.name == "porian2024_isoflop")
    assert described.n_rows == 1160 and described.sources == ("porian2024resolving",)
    notice = (DATA_DIR / "LICENSE-porian2024.txt").read_text(encoding="utf-8")
    assert "porian2024_isoflop.csv" in notice and "Permission is hereby granted, free of charge" in notice
    descriptor = json.loads((DATA_DIR / "datapackage.json").read_text(encoding="utf-8"))
    resource = next(r for r in descriptor["resources"] if r["name"] == "porian2024_isoflop")
    assert [licence["path"] for licence in resource["licenses"]] == ["LICENSE-porian2024.txt"]


def test_the_runs_table_holds_the_published_values_unchanged() -> None:
    shared = mirror_dir() / "porian2024" / "porian2024_isoflop_all_settings.csv"
    if not shared.is_file():
        pytest.skip(f"not in the data mirror: {shared}")
    assert hashlib.sha256(shared.read_bytes()).hexdigest() == SHARED_SHA256
    source = pd.read_csv(shared)
    steps = {columns: step for step, columns in STEP_COLUMNS.items()}
    source["step"] = [steps[tuple(row)] for row in source[["hparams", "warmup", "decay", "param_count",
                                                           "loss_split"]].itertuples(index=False)]
    ours = porian.load_runs()
    key = ["dataset", "step", "C", "N"]
    merged = ours.merge(source, on=key, how="outer", suffixes=("", "_source"), validate="one_to_one", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["loss"] == merged["loss_source"]).all()
    assert (merged["C"] / (6 * merged["N"]) == merged["D"]).all()


def test_cli_runs_the_interpolation_method(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rw5.csv"
    runs = porian.load_runs()
    runs[(runs["dataset"] == "rw") & (runs["step"] == 5)][["N", "C", "loss"]].to_csv(path, index=False)
    assert main(["fit", "isoflop", str(path), "--method", "interpolation", "--loss-noise", "0.002",
                 "--bootstrap", "100", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["profile_method"] == "interpolation" and payload["loss_noise"] == 0.002
    assert payload["exponents"]["a"] == pytest.approx(0.497, abs=0.01)
    assert all("weight" in budget for budget in payload["budgets"])
    assert main(["fit", "isoflop", str(path), "--method", "interpolation", "--bootstrap", "10"]) == 1
    assert "--loss-noise" in capsys.readouterr().err
