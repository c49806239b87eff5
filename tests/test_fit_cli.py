"""``atlas fit parametric|isoflop|envelope FILE``: output formats and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from datasets import BESIROGLU_2024, epoch_runs_path, heldout_frame, synthetic_isoflop_runs

from analysis.cli import main
from analysis.fit import IsoFLOPFit, ParametricLossFit, TrainingRuns

EPOCH_COLUMNS = ["--n-col", "Model Size", "--c-col", "Training FLOP"]


def run_atlas(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True, timeout=120)


def test_parametric_json_on_the_epoch_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = epoch_runs_path()
    status = main(["fit", "parametric", str(path), *EPOCH_COLUMNS, "--exclude-top-loss", "5",
                   "--bootstrap", "100", "--seed", "3", "--json"])
    out, err = capsys.readouterr()
    assert status == 0
    payload = json.loads(out)
    assert {"params", "ci", "exponents", "n_points", "objective", "converged"} <= set(payload)
    assert payload["n_points"] == 240 and payload["converged"] is True
    assert payload["params"]["alpha"] == pytest.approx(BESIROGLU_2024["alpha"], rel=0.01)
    assert set(payload["ci"]) >= {"E", "A", "B", "alpha", "beta"}
    # Same numbers as the library called directly.
    frame = pd.read_csv(path)
    runs = TrainingRuns.from_frame(frame, n_col="Model Size", d_col=None, c_col="Training FLOP")
    direct = ParametricLossFit(exclude_top_loss=5, n_bootstrap=100, seed=3).fit(runs)
    assert payload["params"] == pytest.approx(direct.params)
    assert payload["ci"]["alpha"] == pytest.approx(list(direct.ci["alpha"]))
    assert "bootstrap [" not in err  # no progress bar when stderr is not a terminal


def test_default_output_is_a_readable_table(tmp_path: Path) -> None:
    frame = synthetic_isoflop_runs({"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.3},
                                   (1e18, 1e19, 1e20), noise=0.005, seed=0)
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    done = run_atlas("fit", "parametric", str(path))
    assert done.returncode == 0, done.stderr
    assert "alpha" in done.stdout and "Converged:" in done.stdout and not done.stdout.lstrip().startswith("{")
    for kind in ("isoflop", "envelope"):
        done = run_atlas("fit", kind, str(path), "--json", "--bootstrap", "50")
        assert done.returncode == 0, done.stderr
        payload = json.loads(done.stdout)
        assert {"exponents", "ci", "budgets"} <= set(payload)
        assert len(payload["budgets"]) == 3 and {"C", "N_opt", "included"} <= set(payload["budgets"][0])


def test_isoflop_json_on_the_porian_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = heldout_frame("porian2024_isoflop_refinedweb.csv")
    path = tmp_path / "porian.csv"
    frame.to_csv(path, index=False)
    assert main(["fit", "isoflop", str(path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    direct = IsoFLOPFit().fit(TrainingRuns.from_frame(frame, d_col="D", c_col="C"))
    assert payload["exponents"]["a"] == pytest.approx(direct.exponents["a"])


def test_parquet_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pyarrow", reason="Parquet input needs the optional pyarrow dependency")
    frame = synthetic_isoflop_runs({"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.3},
                                   (1e18, 1e19, 1e20), noise=0.005, seed=0)
    frame.to_parquet(tmp_path / "runs.parquet")
    frame.to_csv(tmp_path / "runs.csv", index=False)
    assert main(["fit", "parametric", str(tmp_path / "runs.parquet"), "--json"]) == 0
    from_parquet = json.loads(capsys.readouterr().out)
    assert main(["fit", "parametric", str(tmp_path / "runs.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == pytest.approx(from_parquet["params"])


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("N,D,loss\n1e8,1e9,3.0\n", ["--loss-col", "L"], "missing column 'L'"),
        ("N,D,loss\n1e8,1e9,3.0\n2e8,-5,2.9\n", [], "bad.csv:3: column 'D': value -5.0 is not positive"),
        ("N,D,loss\n1e8,1e9,3.0\n2e8,1e9,inf\n", [], "bad.csv:3: column 'loss': value inf is not a finite number"),
        ("N,D,loss\n1e8,1e9,3.0\n2e8,1e9,2.9\n4e8,1e9,2.8\n", [], "need more runs than the 5 parameters"),
        ("N,loss\n1e8,3.0\n", [], "pass --d-col or --c-col"),
    ],
)
def test_bad_input_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, extra: list[str], message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["fit", "parametric", str(path), *extra]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == ""
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0]


@pytest.mark.parametrize(("value", "message"), [("-1", "must be >= 0, got -1"), ("x", "invalid")])
def test_seed_must_be_a_non_negative_integer(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str,
                                              message: str) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n1e8,1e9,3.0\n")
    with pytest.raises(SystemExit) as stopped:
        main(["fit", "parametric", str(path), "--seed", value])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --seed: {message}" in err and "Traceback" not in err


def test_single_budget_isoflop_exits_1(tmp_path: Path) -> None:
    frame = synthetic_isoflop_runs({"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.3},
                                   (1e19,), noise=0.0, seed=0)
    path = tmp_path / "one.csv"
    frame.to_csv(path, index=False)
    done = run_atlas("fit", "isoflop", str(path))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "single FLOP budget" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", "envelope", str(tmp_path / "nope.csv")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_progress_reports_every_chunk_and_draws_a_bar() -> None:
    import io

    from analysis.fit.commands import _progress_bar

    calls: list[tuple[int, int]] = []
    runs = TrainingRuns.from_frame(
        synthetic_isoflop_runs({"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.3},
                               (1e18, 1e19, 1e20), noise=0.005, seed=0)
    )
    ParametricLossFit(n_bootstrap=250, chunk_size=100, progress=lambda done, total: calls.append((done, total))).fit(runs)
    assert calls == [(100, 250), (200, 250), (250, 250)]
    stream = io.StringIO()
    bar = _progress_bar(stream)
    bar(1, 2)
    bar(2, 2)
    assert stream.getvalue().endswith("] 2/2\n") and stream.getvalue().startswith("\rbootstrap [")


def test_closed_output_pipe_stops_quietly(tmp_path: Path) -> None:
    csv = tmp_path / "runs.csv"
    synthetic_isoflop_runs(BESIROGLU_2024, (1e18, 1e19, 1e20), noise=0.01, seed=3).to_csv(csv, index=False)
    process = subprocess.Popen([sys.executable, "-m", "analysis", "fit", "isoflop", str(csv), "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before anything is written, as with `| head -c0`
    error = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert "Traceback" not in error and "BrokenPipeError" not in error
