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
        ("N,D,loss\n1e8,1e9,3.0\n", ["--loss-col", "L"], "no column 'L' (--loss-col)"),
        ("N,D,loss\n1e8,1e9,3.0\n2e8,-5,2.9\n", [], "bad.csv:3: column 'D': value -5.0 is not positive"),
        ("N,D,loss\n1e8,1e9,3.0\n2e8,1e9,inf\n", [], "bad.csv:3: column 'loss': value inf is not a finite number"),
        ("N,D,loss\n1e8,1e9,3.0\n2e8,1e9,2.9\n4e8,1e9,2.8\n", [], "need more distinct runs (different N, D) than the 5"),
        ("N,D,loss\n" + "1e8,1e9,3.0\n" * 245, [], "than the 5 free parameters of L(N, D) to fit it, got 1 among 245 rows"),
        ("N,D,loss\n1.3,1e9,3.0\n", [], "bad.csv:2: column 'N': 1.3 parameters is fewer than 1,000: the column looks like"),
        ("N,D,loss\n1e9,300,3.0\n", [], "bad.csv:2: column 'D': 300 tokens is fewer than 10,000"),
        ("N,C,loss\n1.3,1e20,3.0\n", [], "bad.csv:2: column 'N': 1.3 parameters"),
        ("N,D,loss\n1e200,1e200,3.0\n", [], "bad.csv:2: columns 'N', 'D': 6 N D overflows"),
        ("N,C,loss\n1e300,1e-30,3.0\n", [], "bad.csv:2: columns 'C', 'N': C / (6 N) underflows to 0"),
        ("N,C,loss\n1e9,1e12,3.0\n", [], "bad.csv:2: columns 'C', 'N': D = C / (6 N) = 166.7 tokens is fewer than 10,000"),
        ("N,loss\n1e8,3.0\n", [], "pass --d-col or --c-col"),
        ("x,y,z\n1e8,1e9,3.0\n", [], "no column for the model size N (parameters) (pass --n-col); no column for the final"),
        ("N,D,loss\n1e8,1e9,3.0\n,,\n\n2e8,,2.9\n", [], "bad.csv:5: column 'D': is empty"),
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
    with subprocess.Popen([sys.executable, "-m", "analysis", "fit", "isoflop", str(csv), "--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        process.stdout.close()  # the reader is gone before anything is written, as with `| head -c0`
        error = process.stderr.read().decode()
        assert process.wait(timeout=120) == 1
    assert "Traceback" not in error and "BrokenPipeError" not in error


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("N\tD\tloss\n{rows}", []),  # tab-separated
        ("N;D;loss\n{rows}", []),  # semicolons (a spreadsheet in a comma-decimal locale)
        ("N|D|loss\n{rows}", ["--sep", "|"]),
        ("# runs of the 2024 sweep\n#\nN,D,loss\n{rows}", []),  # comment lines before the header
        ("Params,Tokens,Val_Loss\n{rows}", []),  # usual names, any case
        ("N,D,loss\n{rows}\n,,\n\n", []),  # a blank spreadsheet row and a blank line at the end
    ],
)
def test_tables_in_the_usual_shapes_give_the_same_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                                     options: list[str]) -> None:
    frame = heldout_frame("li2025_c4_final.csv")[["N", "D", "loss"]]
    reference = tmp_path / "reference.csv"
    frame.to_csv(reference, index=False)
    assert main(["fit", "parametric", str(reference), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)["params"]
    separator = "\t" if text.startswith("N\t") else ";" if text.startswith("N;") else "|" if text.startswith("N|") else ","
    rows = "\n".join(separator.join(repr(float(v)) for v in row) for row in frame.itertuples(index=False))
    path = tmp_path / "runs.txt"
    path.write_text(text.format(rows=rows), encoding="utf-8")
    assert main(["fit", "parametric", str(path), "--json", *options]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == pytest.approx(expected, rel=1e-12)


def test_line_numbers_count_comments_and_blank_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("# header comment\nN;D;loss\n1e8;1e9;3.0\n\n# a note\n2e8;1e9;-2.9\n", encoding="utf-8")
    assert main(["fit", "parametric", str(path)]) == 1
    assert f"{path}:6: column 'loss': value -2.9 is not positive" in capsys.readouterr().err


def test_options_reach_the_estimators(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "runs.csv"
    heldout_frame("li2025_c4_final.csv").to_csv(path, index=False)
    assert main(["fit", "parametric", str(path), "--json", "--huber-delta", "0.01", "--fix-alpha", "0.3",
                 "--level", "0.8", "--bootstrap", "20", "--max-iter", "50", "--holdout"]) == 0
    payload = json.loads(capsys.readouterr().out)
    runs = TrainingRuns.from_frame(pd.read_csv(path), d_col="D", c_col="C")
    direct = ParametricLossFit(huber_delta=0.01, fixed={"alpha": 0.3}, level=0.8, n_bootstrap=20, max_iter=50).fit(runs)
    assert payload["params"] == pytest.approx(direct.params, rel=1e-12)
    assert payload["params"]["alpha"] == 0.3 and payload["fixed"] == {"alpha": 0.3}
    assert payload["huber_delta"] == 0.01 and payload["level"] == 0.8
    holdout = payload["holdout"]
    assert holdout["n_held_out"] + holdout["n_fitted"] == 81
    assert all(run["C"] >= holdout["held_out_from_flop"] for run in holdout["runs"])
    assert 0 < holdout["mean_abs_error"] <= holdout["max_abs_error"] < 0.1
    help_text = " ".join(run_atlas("fit", "parametric", "--help").stdout.split())
    assert "natural log of the loss (default: 1e-3" in help_text
    assert "the parametric fit uses D and the IsoFLOP and envelope fits use C" in help_text


def test_the_readme_says_where_the_command_is_and_its_commands_exist(capsys: pytest.CaptureFixture[str]) -> None:
    """`make` installs `atlas` into .venv/bin, which is not on PATH: the README must say so, and every command line it
    shows must be one the parser knows (its --help exits 0)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/atlas" in readme and ". .venv/bin/activate" in readme
    assert (Path(sys.executable).parent / "atlas").exists()  # where the README says it is
    block = readme.split("## The command line", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = {tuple(line.split("#")[0].split()[1:3]) for line in block.splitlines() if line.startswith("atlas ")}
    assert len(commands) >= 8
    for words in commands:
        subcommand = [word for word in words if not word.startswith(("-", "[")) and "." not in word]
        with pytest.raises(SystemExit) as done:
            main([*subcommand, "--help"])
        assert done.value.code == 0, subcommand
    capsys.readouterr()
